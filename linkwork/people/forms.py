"""Forms for consent and enrolment (the pages live in the screening app)."""

from django import forms

from linkwork.accounts.models import Role, User

from .models import Cohort, GivenBy, Purpose

ASSENT = [
    ("", "Not asked or not recorded"),
    ("yes", "Yes, the child agrees"),
    ("no", "No, the child does not agree"),
]


class DateInput(forms.DateInput):
    input_type = "date"


class ConsentForm(forms.Form):
    purposes = forms.MultipleChoiceField(
        choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Each purpose is recorded separately and can be withdrawn on its own.",
    )
    given_by = forms.ChoiceField(
        choices=[
            (GivenBy.PARENT, "Parent"),
            (GivenBy.CARER, "Carer"),
            (GivenBy.CHILD, "The child (old enough to consent)"),
        ],
    )
    given_on = forms.DateField(widget=DateInput)
    child_assent = forms.ChoiceField(choices=ASSENT, required=False, label="The child's own assent")

    def clean_child_assent(self):
        return {"yes": True, "no": False}.get(self.cleaned_data["child_assent"])


class WithdrawForm(forms.Form):
    withdrawn_on = forms.DateField(widget=DateInput, label="Withdrawn from")


class EnrolmentForm(forms.Form):
    cohort = forms.ModelChoiceField(queryset=Cohort.objects.all())
    link_worker = forms.ModelChoiceField(queryset=User.objects.none(), label="Link Worker")
    enrolled_on = forms.DateField(widget=DateInput)

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["link_worker"].queryset = User.objects.filter(
            role=Role.LINK_WORKER, is_active=True, schools=school
        ).order_by("name", "email")


class ChildSearchForm(forms.Form):
    """Search and filters of the child list; choices only from what the user may see."""

    q = forms.CharField(required=False, max_length=100, label="Name or UPN")
    school = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="School")
    cohort = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Cohort")
    status = forms.ChoiceField(required=False, label="Enrolment")

    def __init__(self, *args, schools=(), cohorts=(), details=True, **kwargs):
        from .queries import Status

        super().__init__(*args, **kwargs)
        self.fields["school"].choices = [("", "All schools")] + [(s.pk, s.name) for s in schools]
        if details:
            self.fields["cohort"].choices = [("", "All cohorts")] + [
                (c.pk, str(c)) for c in cohorts
            ]
            self.fields["status"].choices = [("", "Any")] + list(Status.CHOICES)
        else:
            # partner staff search by name only, within their schools
            self.fields["q"].label = "Name"
            del self.fields["cohort"]
            del self.fields["status"]
