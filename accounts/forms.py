"""Account forms: signup with policy acceptance, login and the password and code fields as password
managers expect them, the username reminder, preferences, a changed answer about a new use, a
privacy request, deletion."""

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ResetPasswordKeyForm as AllauthResetPasswordKeyForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.mfa.base.forms import AuthenticateForm as AllauthMFAAuthenticateForm
from allauth.mfa.base.forms import ReauthenticateForm as AllauthMFAReauthenticateForm
from allauth.mfa.totp.forms import ActivateTOTPForm as AllauthActivateTOTPForm
from django import forms
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.html import format_html

from policy.caching import current_version
from policy.forms import HoneypotField
from policy.models import PRIVACY, PolicyVersion

from .models import PrivacyRequest


class _HelpTextOnce:
    """Help texts worked out once per form rather than at every reading.

    Django's password rules and allauth's reset link are lazy, and a page reads a field's help
    text three or four times (whether there is one, its id for the input, the text), working
    it out afresh each time.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.help_text, Promise):
                field.help_text = str(field.help_text)


class SignupForm(_HelpTextOnce, AllauthSignupForm):
    accept_policy = forms.BooleanField(
        required=True,
        label="I have read the Privacy Policy",
        error_messages={"required": "Please read the Privacy Policy and tick the box to go on."},
    )
    policy_version = forms.IntegerField(widget=forms.HiddenInput)
    website = HoneypotField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(["username", "email", "password1", "password2", "accept_policy"])
        # The blank form shows the version every page shows (kept per process, no query); the
        # answer is checked against the database.
        self.current_policy = (
            PolicyVersion.objects.filter(document__slug=PRIVACY)
            .select_related("document")
            .defer("body", "body_html", "toc")
            .current()
            if self.is_bound
            else current_version(PRIVACY)
        )
        if self.current_policy is not None:
            version = self.current_policy
            self.fields["policy_version"].initial = version.number
            # Opens in a new tab so nothing typed here is lost.
            self.fields["accept_policy"].label = format_html(
                'I have read the <a href="{}" target="_blank" rel="noopener">Privacy Policy</a>',
                version.get_absolute_url(),
            )
            self.fields["accept_policy"].help_text = format_html(
                "Version {}, in effect since {}.",
                version.number,
                date_format(timezone.localtime(version.effective_at), "F j, Y"),
            )

    def clean_policy_version(self) -> PolicyVersion:
        """The version the person was shown must still be the one in effect."""
        number = self.cleaned_data["policy_version"]
        current = self.current_policy
        if current is None:
            raise forms.ValidationError("Registration is closed: no privacy policy is in effect.")
        if number != current.number:
            raise forms.ValidationError(
                f"The Privacy Policy changed while you were signing up. Please read version "
                f"{current.number} and tick the box again.",
                code="policy_changed",
            )
        return current

    def clean(self):
        cleaned = super().clean()
        if "policy_version" in self.errors:
            # Show the refreshed version next time, and make the person tick the box again.
            self.data = self.data.copy()
            self.data["policy_version"] = self.current_policy.number if self.current_policy else ""
            self.data.pop("accept_policy", None)
        if getattr(self, "account_already_exists", False) and not self.errors:
            # allauth answers a taken address exactly as a new one (ACCOUNT_PREVENT_ENUMERATION)
            # but skips creating the account, and so the password hash: the time it saved told
            # which addresses have accounts. Hash once here, as creating the account would.
            make_password(cleaned.get("password1"))
        return cleaned


class LoginForm(_HelpTextOnce, AllauthLoginForm):
    """allauth's login, telling password managers the field takes a username (or an email)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].widget.attrs["autocomplete"] = "username"


class ResetPasswordKeyForm(_HelpTextOnce, AllauthResetPasswordKeyForm):
    """The new-password page, naming the account so a password manager saves it under it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.user is not None:
            self.fields["username"] = forms.CharField(
                label="Account",
                disabled=True,  # shown, never read back from the POST (so never missing)
                initial=self.user.get_username(),
                widget=forms.TextInput(attrs={"autocomplete": "username", "readonly": True}),
            )
            self.order_fields(["username", "password1", "password2"])


class _NumericCode:
    """A one-time code field: phones offer the digit pad and the code from the text message."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(
            {"autocomplete": "one-time-code", "inputmode": "numeric"}
        )


class MFAAuthenticateForm(_NumericCode, AllauthMFAAuthenticateForm):
    pass


class MFAReauthenticateForm(_NumericCode, AllauthMFAReauthenticateForm):
    pass


class ActivateTOTPForm(_NumericCode, AllauthActivateTOTPForm):
    pass


class UsernameReminderForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
        help_text="We will email the username of every account that uses this address.",
    )
    website = HoneypotField()


class PreferencesForm(forms.Form):
    """One switch per active topic; every switch starts off."""

    def __init__(self, *args, topics, current: dict[int, bool], **kwargs):
        super().__init__(*args, **kwargs)
        self.topics = list(topics)
        for topic in self.topics:
            # Built with format_html: the description is staff text, never markup.
            help_text = format_html(
                "{}{}",
                topic.description,
                " Turning this on shares your name and email with our partners."
                if topic.shares_with_partners
                else "",
            )
            self.fields[f"topic_{topic.pk}"] = forms.BooleanField(
                label=topic.name,
                help_text=help_text,
                required=False,
                initial=current.get(topic.pk, False),
            )

    def choices(self):
        return [(topic, self.cleaned_data[f"topic_{topic.pk}"]) for topic in self.topics]


class PrivacyRequestForm(forms.Form):
    """A privacy request from anyone. A signed-in person's own address is used, not asked for."""

    kind = forms.ChoiceField(
        label="What would you like?",
        choices=PrivacyRequest.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what you would like us to do."},
    )
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        help_text="We email you a link to confirm the request comes from you, then answer there.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": "Enter your email address: we answer there."},
    )
    details = forms.CharField(
        label="Details",
        required=False,
        max_length=5000,
        help_text="Anything that helps us find your data, or what should be corrected.",
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    website = HoneypotField()

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None and user.is_authenticated:
            del self.fields["email"]  # theirs, shown on the page; re-authentication proves it

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == PrivacyRequest.Kind.CORRECTION and not cleaned.get("details"):
            self.add_error("details", "Tell us what should be corrected.")
        return cleaned


class ChoiceChangeForm(forms.Form):
    """One button on the account page: allow, or withdraw, one use of the person's data."""

    purpose = forms.SlugField(max_length=60)
    answer = forms.ChoiceField(choices=[("allow", "Allow"), ("deny", "Don't allow")])

    @property
    def allowed(self) -> bool:
        return self.cleaned_data["answer"] == "allow"


class DeleteAccountForm(forms.Form):
    confirmation = forms.CharField(
        label="Type your username to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_confirmation(self):
        value = self.cleaned_data["confirmation"].strip()
        if value != self.user.get_username():
            raise forms.ValidationError(
                "That is not your username. Type it exactly to confirm, or go back to keep "
                "your account."
            )
        return value
