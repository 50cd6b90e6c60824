"""Policy forms: reviewing a new version, writing to us, choosing a breach notice's audience,
and the honeypot field every public form carries (the accounts app's forms too)."""

from allauth.account.models import EmailAddress
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from .delivery.lists import every_list
from .delivery.outbox import notice_recipients
from .models import ContactMessage, Mailing, NewUse, PolicyVersion


class HoneypotField(forms.CharField):
    """A field people never see or fill in; simple bots fill in every field."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Leave this field empty")
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value:
            raise forms.ValidationError("This form could not be accepted. Please try again.")
        return value


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


class ContactForm(forms.ModelForm):
    """A comment or question about our privacy practices."""

    website = HoneypotField()

    class Meta:
        model = ContactMessage
        fields = ["name", "email", "subject", "message"]
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "name"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "message": forms.Textarea(attrs={"rows": 8}),
        }
        labels = {"email": "Your email address", "name": "Your name"}
        help_texts = {"email": "We reply to this address and use it for nothing else."}

    def clean_subject(self) -> str:
        """One line: a line break would make the staff mail's Subject header invalid, and the
        mail would vanish while the sender was told it arrived."""
        return " ".join(self.cleaned_data["subject"].split())


class IncidentAudienceForm(forms.Form):
    """Who a breach notice goes to: everyone, people who joined in a period, or a list."""

    AUDIENCES = [
        ("all", "Every active user with a verified email address"),
        ("joined", "Users who joined in a period"),
        ("list", "A list of usernames or email addresses"),
    ]
    MAX_UPLOAD = 1_000_000
    audience = forms.ChoiceField(choices=AUDIENCES, widget=forms.RadioSelect, initial="all")
    joined_from = forms.DateField(required=False, help_text="First day (inclusive).")
    joined_to = forms.DateField(required=False, help_text="Last day (inclusive).")
    names = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One username or email address per line.",
    )
    upload = forms.FileField(
        required=False, help_text="Or a text or CSV file with one username or email per line."
    )

    def clean(self):
        cleaned = super().clean()
        audience = cleaned.get("audience")
        if audience == "joined" and not (cleaned.get("joined_from") and cleaned.get("joined_to")):
            raise forms.ValidationError("Give both the first and the last day.")
        if audience == "list":
            lines = (cleaned.get("names") or "").splitlines()
            upload = cleaned.get("upload")
            if upload:
                if upload.size > self.MAX_UPLOAD:
                    raise forms.ValidationError("The file is over 1 MB: split it, or paste it.")
                try:  # utf-8-sig: spreadsheets save "CSV UTF-8" with a byte-order mark
                    lines += upload.read().decode("utf-8-sig").splitlines()
                except UnicodeDecodeError as error:
                    raise forms.ValidationError("The file must be UTF-8 text.") from error
            names = sorted({line.strip().strip(",").strip('"') for line in lines} - {""})
            if not names:
                raise forms.ValidationError("Give at least one username or email address.")
            cleaned["identifiers"] = names
        return cleaned

    def users(self) -> QuerySet:
        """The chosen users (before the verified-address rule the notices apply)."""
        users = get_user_model().objects.all()
        data = self.cleaned_data
        if data["audience"] == "joined":
            return users.filter(
                date_joined__date__gte=data["joined_from"], date_joined__date__lte=data["joined_to"]
            )
        if data["audience"] == "list":
            lowered = [name.lower() for name in data["identifiers"]]
            return (
                users.annotate(username_lower=Lower("username"), email_lower=Lower("email"))
                .filter(
                    Q(username_lower__in=lowered)
                    | Q(email_lower__in=lowered)
                    | Q(emailaddress__email__in=lowered)
                )
                .distinct()
            )
        return users

    def criteria(self) -> str:
        """How the recipients were chosen, in one canonical line (for the bound confirmation)."""
        data = self.cleaned_data
        if data["audience"] == "joined":
            return f"joined:{data['joined_from']}:{data['joined_to']}"
        if data["audience"] == "list":
            return "list:" + "\n".join(sorted(name.lower() for name in data["identifiers"]))
        return "all"

    def unmatched(self) -> list[str]:
        """Names on the list that match no account at all (typos, people who left)."""
        if self.cleaned_data["audience"] != "list":
            return []
        names = self.cleaned_data["identifiers"]
        known = _names_of(get_user_model().objects.all(), names)
        return [name for name in names if name.lower() not in known]

    def unreachable(self) -> list[str]:
        """Names on the list whose account gets nothing: it is inactive, or has no verified
        address (the rule every notice follows)."""
        if self.cleaned_data["audience"] != "list":
            return []
        names = self.cleaned_data["identifiers"]
        users = get_user_model().objects.all()
        known = _names_of(users, names)
        reached = _names_of(notice_recipients(users), names)
        return [name for name in names if name.lower() in known - reached]

    def describe(self) -> str:
        data = self.cleaned_data
        if data["audience"] == "joined":
            return f"users who joined from {data['joined_from']} to {data['joined_to']}"
        if data["audience"] == "list":
            return f"a list of {len(data['identifiers'])} usernames or email addresses"
        return "every active user with a verified email address"


class MailingForm(forms.ModelForm):
    """Topic mail: which list it goes to, and what it says."""

    list_key = forms.ChoiceField(label="To")

    class Meta:
        model = Mailing
        fields = ["list_key", "subject", "body"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["list_key"].choices = [
            (found.key, f"The people who chose “{found.name}”") for found in every_list()
        ]
        self.fields["list_key"].help_text = Mailing._meta.get_field("list_key").help_text


def _names_of(users: QuerySet, names: list[str]) -> set[str]:
    """Which of `names` (lowercased) are the username or an email address of one of `users`."""
    lowered = {name.lower() for name in names}
    found = set(
        users.annotate(name=Lower("username"))
        .filter(name__in=lowered)
        .values_list("name", flat=True)
    )
    found |= set(
        users.annotate(name=Lower("email")).filter(name__in=lowered).values_list("name", flat=True)
    )
    found |= set(
        EmailAddress.objects.filter(user__in=users)
        .annotate(name=Lower("email"))
        .filter(name__in=lowered)
        .values_list("name", flat=True)
    )
    return found
