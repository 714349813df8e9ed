from django import forms


class ContractUploadForm(forms.Form):
    file = forms.FileField(label="Contract file (YAML)")


class PriceChangeForm(forms.Form):
    trigger = forms.ChoiceField(label="Trigger")
    price = forms.DecimalField(label="New price (£)", min_value=0, decimal_places=2, max_digits=12)

    def __init__(self, *args, triggers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trigger"].choices = [(code, code) for code in triggers]


class LineFilterForm(forms.Form):
    """Narrowing a claim's lines: a child (UPN, or for a funder the child reference), a
    trigger, a kind."""

    q = forms.CharField(label="Child", required=False, max_length=20)
    trigger = forms.ChoiceField(label="Trigger", required=False)
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=[
            ("", "Claims and adjustments"),
            ("claim", "Claims"),
            ("adjustment", "Adjustments"),
        ],
    )

    def __init__(self, *args, triggers=(), child_label="Child", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trigger"].choices = [("", "Every trigger")] + [(t, t) for t in triggers]
        self.fields["q"].label = child_label
