import datetime as dt

from django import forms
from django.core.validators import FileExtensionValidator
from django.utils import timezone

from linkwork.core.dates import YEAR, check_day

from .models import GoalStatus, InteractionKind, OutcomeArea
from .queries import ABSENT, ATTENDED, NEXT_STATE
from .services import RegisterMark

# What an interaction was about: the codes a package's `topics` column uses too (a
# package may carry others; they are shown as written).
TOPICS = [
    ("wellbeing", "Feelings and wellbeing"),
    ("friendships", "Friendships"),
    ("family", "Family"),
    ("behaviour", "Behaviour"),
    ("learning", "Learning"),
    ("attendance", "Attendance"),
    ("aspirations", "Aspirations"),
    ("transition", "Moving school"),
    ("plan", "Support plan and goals"),
    ("sessions", "Partner sessions"),
]
TOPIC_LABELS = dict(TOPICS)
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class InteractionForm(forms.Form):
    # One per form shown: a form sent twice (a double tap, a retry on a bad connection)
    # is saved once.
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    occurred_on = forms.DateField(label="Date", widget=DATE, initial=timezone.localdate)
    minutes = forms.IntegerField(
        label="Minutes",
        min_value=1,
        max_value=600,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    kind = forms.ChoiceField(
        label="Kind",
        choices=InteractionKind.choices,
        widget=forms.RadioSelect,
        initial=InteractionKind.ONE_TO_ONE,
    )
    topics = forms.MultipleChoiceField(
        label="Topics", choices=TOPICS, required=False, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_occurred_on(self):
        return check_day(
            self.cleaned_data["occurred_on"], past_days=YEAR, future_days=0, what="An interaction"
        )


class FollowUpForm(forms.Form):
    reason = forms.CharField(label="What needs doing", max_length=300)
    due_on = forms.DateField(label="Due by", widget=DATE, required=False)
    assigned_to = forms.ModelChoiceField(
        label="Assigned to", queryset=None, required=False, empty_label="Me"
    )

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = staff

    def clean_due_on(self):
        return check_day(self.cleaned_data["due_on"], past_days=0, future_days=YEAR, what="Due by")


class AssignForm(forms.Form):
    assigned_to = forms.ModelChoiceField(label="Assign to", queryset=None)

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = staff


class CompleteForm(forms.Form):
    outcome = forms.CharField(
        label="What came of it", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class AllocateForm(forms.Form):
    service = forms.ModelChoiceField(label="Service", queryset=None)
    start_date = forms.DateField(label="From", widget=DATE, initial=timezone.localdate)
    over_capacity_reason = forms.CharField(
        label="Reason to go over capacity (only if the service is full)",
        required=False,
        max_length=200,
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services

    def clean_start_date(self):
        return check_day(
            self.cleaned_data["start_date"], past_days=YEAR, future_days=YEAR // 2, what="From"
        )


class EndAllocationForm(forms.Form):
    end_date = forms.DateField(label="Last day", widget=DATE, initial=timezone.localdate)

    def clean_end_date(self):
        return check_day(
            self.cleaned_data["end_date"], past_days=YEAR, future_days=YEAR, what="The last day"
        )


PLAN_PARTS = (
    "next_review_due",
    "informal_engagement",
    "formal_engagement",
    "developmental_support",
    "specialist_support",
)


class PlanForm(forms.Form):
    next_review_due = forms.DateField(label="Next review due", widget=DATE, required=False)
    informal_engagement = forms.CharField(
        label="Informal engagement", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    formal_engagement = forms.CharField(
        label="Formal engagement", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    developmental_support = forms.CharField(
        label="Developmental support", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    specialist_support = forms.CharField(
        label="Specialist partner support", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for area, label in OutcomeArea.choices:
            self.fields[f"needs_{area}"] = forms.CharField(
                label=f"{label}: needs", required=False, widget=forms.Textarea(attrs={"rows": 2})
            )
            self.fields[f"strengths_{area}"] = forms.CharField(
                label=f"{label}: strengths",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def clean_next_review_due(self):
        return check_day(
            self.cleaned_data["next_review_due"],
            past_days=0,
            future_days=YEAR,
            what="Next review due",
        )

    def part_fields(self):
        return [self[name] for name in PLAN_PARTS]

    def area_fields(self):
        return [
            (label, self[f"needs_{area}"], self[f"strengths_{area}"])
            for area, label in OutcomeArea.choices
        ]

    def plan_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "next_review_due": data["next_review_due"],
            "informal_engagement": data["informal_engagement"],
            "formal_engagement": data["formal_engagement"],
            "developmental_support": data["developmental_support"],
            "specialist_support": data["specialist_support"],
            "needs_and_strengths": {
                area: {"needs": data[f"needs_{area}"], "strengths": data[f"strengths_{area}"]}
                for area in OutcomeArea.values
            },
        }

    @staticmethod
    def initial_from(plan, needs: dict) -> dict:
        initial = {}
        if plan is not None:
            initial = {
                name: getattr(plan, name)
                for name in (
                    "next_review_due",
                    "informal_engagement",
                    "formal_engagement",
                    "developmental_support",
                    "specialist_support",
                )
            }
            needs = plan.needs_and_strengths or needs
        for area in OutcomeArea.values:
            initial[f"needs_{area}"] = needs.get(area, {}).get("needs", "")
            initial[f"strengths_{area}"] = needs.get(area, {}).get("strengths", "")
        return initial


class GoalForm(forms.Form):
    area = forms.ChoiceField(label="Outcome area", choices=OutcomeArea.choices)
    text = forms.CharField(
        label="The goal, in the child's own words", widget=forms.Textarea(attrs={"rows": 2})
    )
    target_date = forms.DateField(label="Target date", widget=DATE, required=False)

    def clean_target_date(self):
        return check_day(
            self.cleaned_data["target_date"], past_days=0, future_days=2 * YEAR, what="Target date"
        )


class GoalUpdateForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=GoalStatus.choices)
    # Sent only when the goal is reworded; blank leaves the wording as it is.
    text = forms.CharField(label="The goal, in the child's own words", required=False)
    target_date = forms.DateField(label="Target date", widget=DATE, required=False)
    note = forms.CharField(
        label="Progress note", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReviewForm(forms.Form):
    held_on = forms.DateField(label="Review held on", widget=DATE, initial=timezone.localdate)
    outcome = forms.CharField(label="Outcome", widget=forms.Textarea(attrs={"rows": 3}))
    next_steps = forms.CharField(
        label="Next steps", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    next_review_due = forms.DateField(label="Next review due", widget=DATE, required=False)

    def clean_held_on(self):
        return check_day(
            self.cleaned_data["held_on"], past_days=YEAR, future_days=0, what="A review"
        )

    def clean(self):
        cleaned = super().clean()
        held, due = cleaned.get("held_on"), cleaned.get("next_review_due")
        if held and due:
            if due <= held:
                self.add_error("next_review_due", "The next review comes after this one.")
            elif due > held + dt.timedelta(days=YEAR):
                self.add_error(
                    "next_review_due", "The next review is more than a year ahead; check the year."
                )
        return cleaned


SHEET_WEEKS = 16  # the most a sheet of several sessions covers: a long term


class SheetRangeForm(forms.Form):
    """The days a sheet of several sessions' registers covers (the query string of a
    download link, so its fields are plain GET parameters)."""

    start = forms.DateField(label="From", widget=DATE)
    end = forms.DateField(label="To", widget=DATE)

    def clean_start(self):
        start = self.cleaned_data["start"]
        return check_day(start, past_days=YEAR, future_days=YEAR, what="The first day")

    def clean_end(self):
        end = self.cleaned_data["end"]
        return check_day(end, past_days=YEAR, future_days=YEAR, what="The last day")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The last day is before the first.")
            elif end - start >= dt.timedelta(weeks=SHEET_WEEKS):
                self.add_error("end", f"A sheet covers at most {SHEET_WEEKS} weeks.")
        return cleaned


class CancelSessionForm(forms.Form):
    reason = forms.CharField(label="Why was it cancelled?", max_length=200)


WEEKDAYS = [
    ("", "No regular day"),
    *[
        (str(n), day)
        for n, day in enumerate(
            ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
        )
    ],
]


class ServiceScheduleForm(forms.Form):
    """When a service meets and how many children it takes: what the sessions page and
    allocations go by. Its name, school and partner come from the zone's data."""

    weekday = forms.TypedChoiceField(
        label="Day it meets",
        choices=WEEKDAYS,
        coerce=int,
        empty_value=None,
        required=False,
        help_text="Its sessions are listed on this day on the sessions page.",
    )
    starts_at = forms.TimeField(
        label="Starts at",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    capacity = forms.IntegerField(
        label="Places",
        min_value=1,
        max_value=1000,
        required=False,
        help_text="Leave empty for no limit. Children already allocated keep their places.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("starts_at") is not None and cleaned.get("weekday") is None:
            self.add_error("weekday", "Choose the day it meets, or leave the time empty too.")
        return cleaned


CODE = forms.RegexField(
    label="Code",
    max_length=40,
    regex=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    error_messages={"invalid": "Letters, digits, dots, hyphens and underscores only."},
    help_text="How packages and register files name it; it cannot be changed later.",
)


class PartnerForm(forms.Form):
    code = CODE
    name = forms.CharField(label="Name", max_length=200)


class ServiceDetailsForm(ServiceScheduleForm):
    """A manager's view of a service: its name and outcome areas as well."""

    name = forms.CharField(label="Name", max_length=200)
    outcome_areas = forms.MultipleChoiceField(
        label="Outcome areas it works on",
        choices=OutcomeArea.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    field_order = ["name", "outcome_areas", "weekday", "starts_at", "capacity"]


class NewServiceForm(ServiceDetailsForm):
    code = CODE
    partner = forms.ModelChoiceField(label="Partner", queryset=None)
    school = forms.ModelChoiceField(label="School", queryset=None)
    field_order = ["partner", "school", "code", *ServiceDetailsForm.field_order]

    def __init__(self, *args, partners, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners
        self.fields["school"].queryset = schools


class RegisterUploadForm(forms.Form):
    file = forms.FileField(
        label="Register file (CSV or XLSX)",
        validators=[FileExtensionValidator(["csv", "xlsx"], "Upload a .csv or .xlsx file.")],
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )


def register_marks(data) -> tuple[list[RegisterMark], int | None]:
    """The marks a register page posted, and the child tapped (None for "Save register").

    A tap moves one child to the mark after the one their row showed; saving sends every
    child's mark (unmarked children as absent) with the mark the page showed.
    Malformed input raises ValueError.
    """
    if "tap" in data:
        pupil_id = int(data["tap"])
        seen = data.get(f"seen-{pupil_id}", "")
        return [RegisterMark(pupil_id, NEXT_STATE.get(seen, ATTENDED), seen)], pupil_id
    marks = []
    for key, seen in data.items():
        if key.startswith("seen-"):
            pupil_id = key.removeprefix("seen-")
            marks.append(RegisterMark(int(pupil_id), data.get(f"mark-{pupil_id}") or ABSENT, seen))
    return marks, None


class OpenRegisterForm(forms.Form):
    """Which service and day to take a register for, when the service has no regular
    weekday (or the session moved)."""

    service = forms.ModelChoiceField(label="Service", queryset=None, empty_label=None)
    date = forms.DateField(label="Day of the session", widget=DATE, initial=timezone.localdate)

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["service"].label_from_instance = lambda s: f"{s.name} ({s.school.name})"

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day > timezone.localdate():
            raise forms.ValidationError("A register is taken on or after the day of the session.")
        return day
