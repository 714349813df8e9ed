"""The retention schedule: whose data is kept no longer, and uploaded files past their time.

Three rules, each a number in the settings (configuration, set by the DPO to match the
data-sharing agreements and the privacy notice):

- a pupil **never enrolled** is due for erasure once the newest dated data about them
  (the day they last came in a school's data, school attendance, attainment, a score, a
  screening round, a consent) is older than `LINKWORK_RETAIN_NOT_ENROLLED_MONTHS`;
- a child whose **enrolments have all ended** is due once the latest end is older than
  `LINKWORK_RETAIN_AFTER_ENROLMENT_YEARS`;
- an **uploaded file** (school data or a survey) is deleted from disk once its upload
  finished `LINKWORK_RETAIN_UPLOADS_DAYS` ago; its counts stay, its problem list goes.

Due children are erased as any erasure (`services.erase_child`): their payment evidence
is kept for the contract's audit period. `services.apply_retention` does what is due.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import DateField, Exists, F, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Greatest

from linkwork.core.dates import years_after
from linkwork.measures.models import Administration
from linkwork.screening.models import RiskProfile, Upload, UploadStatus

from .models import Attainment, Consent, Enrolment, Pupil, SchoolAttendance

NEVER_ENROLLED = "never enrolled"
ENROLMENT_ENDED = "enrolment ended"
_NONE = dt.date(1, 1, 1)  # stands for "no date" inside the database's comparisons


@dataclass(frozen=True)
class Schedule:
    not_enrolled_months: int
    after_enrolment_years: int
    uploads_days: int

    @classmethod
    def from_settings(cls) -> "Schedule":
        return cls(
            not_enrolled_months=int(settings.LINKWORK_RETAIN_NOT_ENROLLED_MONTHS),
            after_enrolment_years=int(settings.LINKWORK_RETAIN_AFTER_ENROLMENT_YEARS),
            uploads_days=int(settings.LINKWORK_RETAIN_UPLOADS_DAYS),
        )


@dataclass(frozen=True)
class Due:
    """A child the schedule says to erase: by which rule, counted from which date."""

    pupil_id: int
    upn: str
    school: str
    rule: str
    since: dt.date  # the newest data (never enrolled) or the enrolment's end

    @property
    def reference(self) -> str:
        return f"retention: {self.rule} (last {self.since:%Y-%m-%d})"


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier (the month's last day where it has fewer days)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _newest(queryset, date_field: str):
    """The newest `date_field` of a pupil's rows in `queryset`, or _NONE."""
    newest = (
        queryset.filter(pupil=OuterRef("pk"))
        .order_by()
        .values("pupil")
        .annotate(newest=Max(date_field))
        .values("newest")
    )
    return Coalesce(Subquery(newest, output_field=DateField()), Value(_NONE))


_DATED = (
    (SchoolAttendance.objects, "period_end"),
    (Attainment.objects, "assessed_on"),
    (Administration.objects, "administered_on"),
    (RiskProfile.objects, "round__on"),
    (Consent.objects, "given_on"),
)


def _never_enrolled(cutoff: dt.date):
    """Pupils never enrolled, last received before `cutoff` and with no dated data on
    or after it, with the newest date they have. The tests for recent data are NOT
    EXISTS, which the database answers with one anti-join per table; the newest dates
    are looked up only for the pupils left."""
    recent = [
        ~Exists(queryset.filter(pupil=OuterRef("pk"), **{f"{field}__gte": cutoff}))
        for queryset, field in _DATED
    ]
    seen = Greatest(
        F("received_on"),
        *(_newest(queryset, field) for queryset, field in _DATED),
        output_field=DateField(),
    )
    enrolled = Enrolment.objects.filter(pupil=OuterRef("pk"))
    return Pupil.objects.filter(~Exists(enrolled), *recent, received_on__lt=cutoff).annotate(
        since=seen
    )


def _enrolment_ended(cutoff: dt.date):
    open_enrolment = Enrolment.objects.filter(pupil=OuterRef("pk"), ended_on__isnull=True)
    ended = (
        Enrolment.objects.filter(pupil=OuterRef("pk"))
        .order_by()
        .values("pupil")
        .annotate(last=Max("ended_on"))
        .values("last")
    )
    return (
        Pupil.objects.filter(Exists(Enrolment.objects.filter(pupil=OuterRef("pk"))))
        .filter(~Exists(open_enrolment))
        .annotate(since=Subquery(ended, output_field=DateField()))
        .filter(since__lt=cutoff)
    )


def _rules(today: dt.date, schedule: Schedule):
    return (
        (NEVER_ENROLLED, _never_enrolled(months_before(today, schedule.not_enrolled_months))),
        (ENROLMENT_ENDED, _enrolment_ended(years_after(today, -schedule.after_enrolment_years))),
    )


def _due(rule: str, rows) -> list[Due]:
    return [
        Due(pk, upn, school, rule, since)
        for pk, upn, school, since in rows
        if since is not None and since != _NONE
    ]


def due_children(today: dt.date, schedule: Schedule | None = None) -> list[Due]:
    """Every child due for erasure on `today`, oldest first."""
    due = []
    for rule, pupils in _rules(today, schedule or Schedule.from_settings()):
        due.extend(_due(rule, pupils.values_list("pk", "upn", "school__name", "since")))
    due.sort(key=lambda d: (d.since, d.upn))
    return due


def due_sample(today: dt.date, shown: int, schedule: Schedule | None = None):
    """(how many children are due on `today`, the first `shown` of them by rule, school
    and UPN).

    For a page: the database counts the children due without working out their dates,
    and the dates are looked up for the children shown only, so the page costs the same
    whether a handful or a whole year's screening is due."""
    count = 0
    sample = []
    for rule, pupils in _rules(today, schedule or Schedule.from_settings()):
        count += pupils.count()
        if len(sample) < shown:
            rows = pupils.order_by("school__name", "upn").values_list(
                "pk", "upn", "school__name", "since"
            )
            sample.extend(_due(rule, rows[: shown - len(sample)]))
    return count, sample


def expired_uploads(today: dt.date, schedule: Schedule | None = None):
    """Finished uploads whose files are still on disk past their time."""
    schedule = schedule or Schedule.from_settings()
    finished = (UploadStatus.INVALID, UploadStatus.LOADED, UploadStatus.FAILED)
    before = dt.datetime.combine(
        today - dt.timedelta(days=schedule.uploads_days), dt.time.min, dt.UTC
    )
    return Upload.objects.filter(status__in=finished, finished_at__lt=before).filter(~Q(folder=""))
