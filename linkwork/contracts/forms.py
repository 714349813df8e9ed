from django import forms


class ContractUploadForm(forms.Form):
    file = forms.FileField(label="Contract file (YAML)")


class ConfirmForm(forms.Form):
    """Confirming a step that cannot be undone (checked by the server, not by a script)."""

    confirm = forms.BooleanField(required=True)

    def __init__(self, *args, label="I confirm", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = label


class DateInput(forms.DateInput):
    input_type = "date"


class PaymentForm(forms.Form):
    """One payer's payment of a submitted claim, confirmed: it cannot be undone."""

    payer = forms.ChoiceField(label="Payer")
    amount = forms.DecimalField(
        label="Amount received (£)",
        decimal_places=2,
        max_digits=14,
        help_text="Negative for a credit (a claim whose adjustments exceed its lines).",
    )
    paid_on = forms.DateField(label="Paid on", widget=DateInput)
    reference = forms.CharField(label="Remittance reference", required=False, max_length=100)
    confirm = forms.BooleanField(
        label="This payer has paid: record it. A recorded payment cannot be undone."
    )

    def __init__(self, *args, payers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payer"].choices = [(code, code) for code in payers]


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
