"""Forgot password: same answer for any address, single-use expiring links, sessions ended."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, link_in

pytestmark = pytest.mark.django_db

RESET = reverse("account_reset_password")
KEY_LINK = r"/accounts/password/reset/key/[^/\s]+/"
NEW_PASSWORD = "a brand new passphrase 42"


def request_reset(client, email: str):
    return client.post(RESET, {"email": email})


def set_new_password(client, link: str):
    page = client.get(link, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    return client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})


def test_known_and_unknown_addresses_get_the_same_response(client, alice, mailoutbox):
    known = request_reset(client, "alice@example.com")
    unknown = request_reset(client, "nobody@example.com")
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert len(mailoutbox) == 2
    assert link_in(mailoutbox[0], KEY_LINK)
    assert "No account" in mailoutbox[1].body or "do not have any record" in mailoutbox[1].body


def test_reset_mail_states_the_username(client, alice, mailoutbox):
    request_reset(client, "alice@example.com")
    assert "your username is alice" in mailoutbox[0].body


def test_reset_mail_says_when_its_link_expires(client, alice, mailoutbox, settings):
    from datetime import timedelta

    from django.utils import timezone
    from django.utils.formats import date_format

    settings.PASSWORD_RESET_TIMEOUT = 60 * 60
    client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    expires = timezone.localtime() + timedelta(hours=1)
    body = mailoutbox[0].body
    assert "The link works once, and only for 60 minutes (until " in body
    assert date_format(expires, "F j") in body


def test_reset_sets_the_new_password_and_ends_other_sessions(client, alice, mailoutbox):
    other_browser = Client()
    other_browser.force_login(alice)
    request_reset(client, "alice@example.com")
    response = set_new_password(client, link_in(mailoutbox[0], KEY_LINK))
    assert response.status_code == HTTPStatus.FOUND
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    overview = other_browser.get(reverse("account_overview"))
    assert overview.status_code == HTTPStatus.FOUND  # the old session no longer counts
    assert overview.url.startswith(reverse("account_login"))


def test_a_reset_link_works_once(client, alice, mailoutbox):
    request_reset(client, "alice@example.com")
    link = link_in(mailoutbox[0], KEY_LINK)
    set_new_password(client, link)
    again = client.get(link, follow=True)
    assert "Bad Token" in again.content.decode() or "invalid" in again.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_a_reset_link_expires_within_an_hour(client, alice, mailoutbox, monkeypatch, settings):
    assert settings.PASSWORD_RESET_TIMEOUT <= 3600
    request_reset(client, "alice@example.com")
    link = link_in(mailoutbox[0], KEY_LINK)
    from django.contrib.auth.tokens import PasswordResetTokenGenerator

    real_now = PasswordResetTokenGenerator._now
    monkeypatch.setattr(
        PasswordResetTokenGenerator,
        "_now",
        lambda self: real_now(self) + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60),
    )
    set_new_password(client, link)
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_reset_is_rate_limited_per_address(client, alice):
    for _ in range(5):
        request_reset(client, "alice@example.com")
    response = request_reset(client, "alice@example.com")
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many requests" in response.content.decode()


def test_invalid_email_shows_a_field_error(client, mailoutbox):
    response = request_reset(client, "not-an-email")
    assert response.status_code == HTTPStatus.OK
    assert "Enter a valid email address." in response.content.decode()
    assert mailoutbox == []
