"""Account workflows that allauth does not provide: the username reminder."""

from allauth.account import app_settings as allauth_settings
from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from django.http import HttpRequest
from django.urls import reverse


def username_reminder_send(*, request: HttpRequest, email: str) -> None:
    """Email the usernames of the active accounts that verified `email`.

    When none does, the visitor gets the same answer, and (following allauth's
    ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS) the address gets a note that no account uses it, so
    both paths send exactly one message.
    """
    addresses = (
        EmailAddress.objects.filter(email__iexact=email, verified=True, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
    )
    users = [address.user for address in addresses]
    adapter = get_adapter(request)
    if users:
        adapter.send_mail(
            "account/email/username_reminder",
            email,
            {
                "usernames": [user.get_username() for user in users],
                "login_url": request.build_absolute_uri(reverse("account_login")),
                "password_reset_url": request.build_absolute_uri(reverse("account_reset_password")),
            },
        )
    elif allauth_settings.EMAIL_UNKNOWN_ACCOUNTS:
        adapter.send_mail(
            "account/email/unknown_account",
            email,
            {"signup_url": request.build_absolute_uri(reverse("account_signup"))},
        )
