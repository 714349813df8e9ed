from datetime import date

from django import forms
from django.utils import timezone

from linkwork.schools.models import School

from .models import Decision


class DateInput(forms.DateInput):
    input_type = "date"


def _a_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


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
        if on < _a_year_before(today):
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
