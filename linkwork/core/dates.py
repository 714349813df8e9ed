"""Dates as people write them wrong, and years counted on the calendar."""

import datetime as dt

from django import forms
from django.utils import timezone

YEAR = 365  # days, for the limits of `check_day`


def years_after(day: dt.date, years: int) -> dt.date:
    """The same day `years` later (earlier when negative); 28 February for a 29 February
    that year has none."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def check_day(value, *, past_days=None, future_days=None, what="The date"):
    """A form field's date, refused when surely a slip of the keyboard: more than
    `past_days` before today or more than `future_days` after it (None: no limit; 0:
    today at most)."""
    if value is None:
        return value
    today = timezone.localdate()
    if future_days is not None and value > today + dt.timedelta(days=future_days):
        if future_days == 0:
            raise forms.ValidationError(f"{what} cannot be in the future.")
        raise forms.ValidationError(
            f"{what} is more than {_span(future_days)} ahead; check the year."
        )
    if past_days is not None and value < today - dt.timedelta(days=past_days):
        if past_days == 0:
            raise forms.ValidationError(f"{what} cannot be in the past.")
        raise forms.ValidationError(f"{what} is more than {_span(past_days)} ago; check the year.")
    return value


def _span(days: int) -> str:
    return f"{days // 365} year{'s' if days >= 730 else ''}" if days >= 365 else f"{days} days"
