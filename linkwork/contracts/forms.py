from django import forms


class ContractUploadForm(forms.Form):
    file = forms.FileField(label="Contract file (YAML)")


class PriceChangeForm(forms.Form):
    trigger = forms.ChoiceField(label="Trigger")
    price = forms.DecimalField(label="New price (£)", min_value=0, decimal_places=2, max_digits=12)

    def __init__(self, *args, triggers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trigger"].choices = [(code, code) for code in triggers]
