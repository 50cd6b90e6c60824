"""The review form: accept the new version, and answer each new use of data."""

from django import forms

from .models import NewUse, PolicyVersion

ANSWERS = [("allow", "Allow"), ("deny", "Don't allow")]


class ReviewForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    via = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, target: PolicyVersion, new_uses: list[NewUse], **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.new_uses = new_uses
        self.fields["version"].initial = target.number
        for use in new_uses:
            # Nothing is pre-selected: a person must choose, and may choose "Don't allow".
            self.fields[f"use_{use.pk}"] = forms.ChoiceField(
                label=use.name,
                help_text=use.description,
                choices=ANSWERS,
                widget=forms.RadioSelect,
                error_messages={"required": f"Choose “Allow” or “Don't allow” for {use.name}."},
            )

    def clean_version(self) -> int:
        number = self.cleaned_data["version"]
        if number != self.target.number:
            raise forms.ValidationError(
                "The policy changed again while you were reading. Please review the new version."
            )
        return number

    @property
    def answers(self) -> dict[NewUse, bool]:
        return {use: self.cleaned_data[f"use_{use.pk}"] == "allow" for use in self.new_uses}

    @property
    def method(self) -> str:
        return "email_link" if self.cleaned_data.get("via") == "email" else "review"
