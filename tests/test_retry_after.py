"""Every 429 says how long to wait: `Retry-After`, from the limits of the page that was refused.

allauth answers its own limits through `handler429` (pamedspa/urls.py), and the site's forms
answer through allauth's `consume_or_429`, so all of them come out of pamedspa/errors.py.
"""

from http import HTTPStatus

import pytest
from django.urls import reverse

from tests.factories import make_verified_user, signup_data

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "login": (reverse("account_login"), {"login": "alice", "password": "wrong password!"}),
    "signup": (reverse("account_signup"), signup_data()),
    "reset_password": (reverse("account_reset_password"), {"email": "alice@example.com"}),
    "username_reminder": (reverse("account_username_reminder"), {"email": "a@example.com"}),
    "contact": (
        reverse("policy:contact", args=["privacy"]),
        {"name": "V", "email": "v@example.org", "subject": "Hi", "message": "Hi", "website": ""},
    ),
    "privacy_request": (
        reverse("privacy_request"),
        {"kind": "access", "email": "v@example.org", "details": "", "website": ""},
    ),
}


@pytest.mark.parametrize(
    ("action", "rate", "seconds"),
    [("login", "1/m/ip", 60), ("signup", "1/m/ip", 60), ("reset_password", "1/m/ip", 60),
     ("username_reminder", "1/m/ip", 60), ("contact", "1/h/ip", 3600),
     ("privacy_request", "1/30s/ip,5/h/ip", 30)],
)  # fmt: skip
def test_every_429_carries_retry_after(client, settings, privacy, action, rate, seconds):
    make_verified_user("alice")
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, action: rate}
    url, data = ENDPOINTS[action]
    client.post(url, data)

    response = client.post(url, data)

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.headers["Retry-After"] == str(seconds)
    minutes = -(-seconds // 60)
    assert f"Please wait {minutes} minute{'s' if minutes != 1 else ''} and try again." in (
        response.content.decode()
    )
