from django import forms


class InstrumentForm(forms.Form):
    document = forms.FileField(label="Instrument definition (.yaml)", required=False)
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14}), required=False, label="Or paste the definition"
    )

    def clean(self):
        data = super().clean()
        upload = data.get("document")
        if upload:
            data["source"] = upload.read()
            data["filename"] = f"instruments/{upload.name}"
        elif data.get("text", "").strip():
            data["source"] = data["text"]
            data["filename"] = "instrument.yaml"
        else:
            raise forms.ValidationError("Choose a file or paste the definition.")
        return data
