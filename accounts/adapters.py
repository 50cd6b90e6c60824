"""allauth, customised through its adapters: the site in every email, acceptance at signup."""

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import ratelimit
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from policy.delivery.messages import automated
from policy.services.ledger import acceptance_record

logger = logging.getLogger(__name__)


class EmailDeliveryFailed(Exception):
    """The mail server could not take a message; the request that needed it must not stand."""


# What the "check your email" page needs to send the link again: the address typed at signup,
# and the new account, if there is one (none when the address was taken).
SIGNUP_EMAIL, SIGNUP_USER = "signup_email", "signup_user"


def remember_signup(request, *, email: str, user) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SIGNUP_EMAIL] = email
        request.session[SIGNUP_USER] = user.pk if user is not None else None


@dataclass(frozen=True)
class SiteInfo:
    """What allauth's templates call `current_site`, without the sites framework."""

    name: str
    domain: str


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Send with the site's name; a mail server that fails raises EmailDeliveryFailed."""
        context = {"current_site": self._site(), "site_name": settings.SITE_NAME, **context}
        if template_prefix == "account/email/password_reset_key":
            # The mail says how long its link works (Django's PASSWORD_RESET_TIMEOUT).
            context["reset_link_minutes"] = settings.PASSWORD_RESET_TIMEOUT // 60
            context["reset_link_expires"] = timezone.localtime() + timedelta(
                seconds=settings.PASSWORD_RESET_TIMEOUT
            )
        try:
            super().send_mail(template_prefix, email, context)
        except (smtplib.SMTPException, OSError) as error:
            if template_prefix.startswith("account/email/email_confirmation"):
                # allauth counted this mail against the address's limit (one confirmation mail
                # every few minutes) before it failed. The view is rolled back, and a retry
                # must send it rather than be silently skipped.
                ratelimit.clear(self.request, action="confirm_email", key=email.lower())
            raise EmailDeliveryFailed(str(error)) from error

    def send_notification_mail(self, template_prefix, user, context=None, email=None) -> None:
        """A security notice ("your password was changed") reports a change already made.

        If the mail server refuses it, the change stands and the person is not told that
        "nothing was saved": the failure is logged for whoever runs the site instead.
        """
        try:
            super().send_notification_mail(template_prefix, user, context, email)
        except EmailDeliveryFailed as error:
            logger.error("security notice %s to user %s not sent: %s", template_prefix,
                         user.pk, error)  # fmt: skip

    def render_mail(self, template_prefix, email, context, headers=None) -> EmailMessage:
        """Every message gets an HTML part in the site's design, made from its text part, and
        says it was sent automatically."""
        message = super().render_mail(template_prefix, email, context, headers=automated(headers))
        if isinstance(message, EmailMultiAlternatives) and not message.alternatives:
            html = render_to_string(
                "account/email/_layout.html",
                {"subject": message.subject, "body": message.body, "site_name": settings.SITE_NAME},
            )
            message.attach_alternative(html, "text/html")
        return message

    def save_user(self, request, user, form, commit=True):
        """Create the account and record which exact policy version was accepted."""
        user = super().save_user(request, user, form, commit=commit)
        remember_signup(request, email=user.email, user=user)
        if commit:
            acceptance_record(
                user=user,
                version=form.cleaned_data["policy_version"],
                method="signup",
                ip_address=self.get_client_ip(request),
                user_agent=self.get_http_user_agent(request),
            )
        return user

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": (
            "Too many wrong passwords for this login. For your security, wait 5 minutes and "
            "try again, or reset your password to sign in now."
        ),
    }

    def send_account_already_exists_mail(self, email: str) -> None:
        """A signup with a taken address: the same "check your email" page, and the same
        resend button, as a new one (see `remember_signup`)."""
        super().send_account_already_exists_mail(email)
        remember_signup(self.request, email=email, user=None)

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """The failed-login counter's key: the account, whichever of its names was typed.

        allauth keys it by the text typed (and the Host header), so an account's username and
        each of its addresses had 5 tries each, and a client could change the port to reset
        its count. Logins that match no account are counted by the text typed, so an unknown
        login locks exactly as a known one does. The same lookup runs either way: no timing
        difference. (A private allauth hook: tests/accounts/test_login.py pins the behaviour.)
        """
        typed = credentials.get("email", credentials.get("username", "")).strip().lower()
        users = get_user_model().objects.filter(
            Q(username__iexact=typed)
            | Q(email__iexact=typed)
            | Q(emailaddress__email__iexact=typed)
        )
        accounts = sorted(set(users.values_list("pk", flat=True)[:5]))
        return "account:" + ",".join(map(str, accounts)) if accounts else "login:" + typed

    def _site(self) -> SiteInfo:
        request = self.request
        return SiteInfo(name=settings.SITE_NAME, domain=request.get_host() if request else "")


class MFAAdapter(DefaultMFAAdapter):
    def build_totp_svg(self, url: str) -> str:
        """The QR code as inline SVG markup: a data: URI image would need a looser CSP."""
        svg = super().build_totp_svg(url)
        svg = svg[svg.index("<svg") :]
        return svg.replace(
            "<svg ", '<svg role="img" aria-label="QR code for your authenticator app" ', 1
        )
