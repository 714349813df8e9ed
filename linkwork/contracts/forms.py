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
    """A browser's date picker: its value must be written YYYY-MM-DD, whatever the
    site's date format, or the browser shows it empty."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class PaymentForm(forms.Form):
    """A payment received from one payer, confirmed: it cannot be undone. The service
    checks the amount against what the payer still owes and the day against the claim's
    submission and today; the page shows one form per payer."""

    payer = forms.CharField(widget=forms.HiddenInput, max_length=40)
    amount = forms.DecimalField(label="Amount received (£)", decimal_places=2, max_digits=14)
    paid_on = forms.DateField(label="Paid on", widget=DateInput)
    reference = forms.CharField(label="Remittance reference", required=False, max_length=100)
    confirm = forms.BooleanField(
        label="Received from this payer: record it. A recorded payment cannot be undone."
    )

    def __init__(self, *args, owed=None, first_day=None, last_day=None, **kwargs):
        super().__init__(*args, **kwargs)
        if owed is not None and owed < 0:
            self.fields["amount"].label = "Credit settled (£, negative)"
        dates = self.fields["paid_on"].widget.attrs
        if first_day is not None:
            dates["min"] = first_day.isoformat()
        if last_day is not None:
            dates["max"] = last_day.isoformat()


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
