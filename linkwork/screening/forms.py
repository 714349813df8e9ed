from datetime import date

from django import forms
from django.utils import timezone

from linkwork.core.dates import years_after
from linkwork.people.forms import WithdrawForm
from linkwork.schools.models import School

from .models import Decision


class DateInput(forms.DateInput):
    input_type = "date"


class RunForm(forms.Form):
    school = forms.ModelChoiceField(queryset=School.objects.all())
    on = forms.DateField(widget=DateInput, label="Screening date")

    def clean_on(self):
        # A round screens the data on record by its date: a date ahead, or long past, is
        # surely a slip of the keyboard.
        on = self.cleaned_data["on"]
        today = timezone.localdate()
        if on > today:
            raise forms.ValidationError("The screening date cannot be after today.")
        if on < years_after(today, -1):
            raise forms.ValidationError(
                "The screening date is more than a year ago; check the year."
            )
        return on


class ReviewForm(forms.Form):
    pupil = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=Decision.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)


class ShortlistFilterForm(forms.Form):
    TO_REVIEW = "to_review"

    show = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[("", "Everyone on the shortlist"), (TO_REVIEW, "Only those still to review")],
    )


class RulesForm(forms.Form):
    document = forms.FileField(label="screening.yaml", required=False)
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14}), required=False, label="Or paste the rules"
    )

    def clean(self):
        data = super().clean()
        upload = data.get("document")
        if upload:
            data["source"] = upload.read()
        elif data.get("text", "").strip():
            data["source"] = data["text"]
        else:
            raise forms.ValidationError("Choose a file or paste the rules.")
        return data


class UploadForm(forms.Form):
    resource = forms.ChoiceField(
        label="What the file holds",
        choices=[
            ("pupils", "Pupils (pupils.csv)"),
            ("school_attendance", "Attendance (school_attendance.csv)"),
            ("attainment", "Attainment (attainment.csv)"),
            ("scores", "Survey scale scores (scores.csv)"),
            ("responses", "Survey item responses (responses.csv)"),
        ],
    )
    file = forms.FileField(
        label="CSV or XLSX file", help_text="The package's columns, with a header row."
    )


class DeleteRoundForm(forms.Form):
    """Deleting a round takes its profiles with it: the manager ticks to confirm."""

    confirm = forms.BooleanField(required=True)


BACKDATED = "Backdated withdrawals reverse payments already claimed for this child after that date."


class WithdrawalForm(WithdrawForm):
    """A withdrawal from a date. One dated before today is confirmed first: the next claim
    run reverses what was claimed for the child after that date."""

    confirm_backdated = forms.BooleanField(required=False, label="Backdated withdrawal")

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    @property
    def backdated(self) -> bool:
        """Whether the date given is before today (the confirmation is then shown)."""
        withdrawn_on = getattr(self, "cleaned_data", {}).get("withdrawn_on")
        return withdrawn_on is not None and withdrawn_on < self.today

    def clean(self):
        data = super().clean()
        if self.backdated and not data.get("confirm_backdated"):
            self.add_error(
                "confirm_backdated",
                f"The withdrawal is dated {data['withdrawn_on']:%-d %B %Y}, before today. "
                f"{BACKDATED} Tick the box to confirm.",
            )
        return data
