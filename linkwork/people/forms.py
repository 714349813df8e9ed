"""Forms for consent and enrolment (the pages live in the screening app)."""

from django import forms

from linkwork.accounts.models import Role, User

from .models import Cohort, GivenBy, Purpose

ASSENT = [("", "Not asked or not recorded"), ("yes", "Yes, the child agrees"),
          ("no", "No, the child does not agree")]


class DateInput(forms.DateInput):
    input_type = "date"


class ConsentForm(forms.Form):
    purposes = forms.MultipleChoiceField(
        choices=Purpose.choices, widget=forms.CheckboxSelectMultiple,
        help_text="Each purpose is recorded separately and can be withdrawn on its own.",
    )
    given_by = forms.ChoiceField(
        choices=[(GivenBy.PARENT, "Parent"), (GivenBy.CARER, "Carer"),
                 (GivenBy.CHILD, "The child (old enough to consent)")],
    )
    given_on = forms.DateField(widget=DateInput)
    child_assent = forms.ChoiceField(choices=ASSENT, required=False,
                                     label="The child's own assent")

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
