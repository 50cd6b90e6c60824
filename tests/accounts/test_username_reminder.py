"""Forgot username: one email listing the usernames, and nothing that reveals who has an account."""

from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import make_verified_user

pytestmark = pytest.mark.django_db

REMIND = reverse("account_username_reminder")
DONE = reverse("account_username_reminder_done")


def remind(client, email: str, website: str = "", **request_extra):
    return client.post(REMIND, {"email": email, "website": website}, **request_extra)


def test_the_page_asks_for_an_email_address(client):
    html = client.get(REMIND).content.decode()
    assert '<label for="id_email">Email address</label>' in html
    assert 'autocomplete="email"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_known_address_gets_one_email_with_the_username_and_links(client, alice, mailoutbox):
    response = remind(client, "alice@example.com")
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == DONE
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "[New Image MedSpa] Your username"
    assert "Your username is: alice" in message.body
    assert "http://testserver/accounts/login/" in message.body
    assert "http://testserver/accounts/password/reset/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Your username is: alice" in html
    assert "New Image MedSpa" in html


def test_every_account_on_the_address_is_listed(client, mailoutbox):
    from allauth.account.models import EmailAddress

    make_verified_user("alice", "shared@example.com")
    bob = make_verified_user("bob", "bob@example.com")
    # A second, verified, non-primary address on another account.
    EmailAddress.objects.create(user=bob, email="Shared@Example.com", verified=True, primary=False)
    remind(client, "SHARED@example.com")
    assert len(mailoutbox) == 1
    assert "- alice" in mailoutbox[0].body
    assert "- bob" in mailoutbox[0].body


def test_unknown_address_gets_the_same_response(client, alice, mailoutbox):
    known = remind(client, "alice@example.com")
    unknown = remind(client, "nobody@example.com")
    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    assert client.get(DONE).content.decode().count("If an account uses that address") == 1
    assert len(mailoutbox) == 2
    assert mailoutbox[1].to == ["nobody@example.com"]
    assert "alice" not in mailoutbox[1].body


def test_known_and_unknown_addresses_do_the_same_work(client, alice, mailoutbox):
    """Timing parity: each path runs the same queries and sends exactly one message."""
    counts = []
    for email in ["alice@example.com", "nobody@example.com"]:
        with CaptureQueriesContext(connection) as queries:
            remind(client, email)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert len(mailoutbox) == 2


def test_without_unknown_account_mail_an_unknown_address_gets_nothing(client, settings, mailoutbox):
    settings.ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
    response = remind(client, "nobody@example.com")
    assert response.url == DONE
    assert mailoutbox == []


def test_unverified_and_inactive_accounts_are_not_revealed(client, mailoutbox):
    from allauth.account.models import EmailAddress

    make_verified_user("ghost", "ghost@example.com", is_active=False)
    unverified = make_verified_user("eve", "eve@example.com")
    EmailAddress.objects.filter(user=unverified).update(verified=False)
    remind(client, "ghost@example.com")
    remind(client, "eve@example.com")
    assert [message.subject for message in mailoutbox] == [
        "[New Image MedSpa] Unknown Account",
        "[New Image MedSpa] Unknown Account",
    ]
    assert not any("Your username is" in message.body for message in mailoutbox)


def test_invalid_address_shows_a_field_error_and_keeps_the_input(client, mailoutbox):
    response = remind(client, "not-an-email")
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert 'value="not-an-email"' in html
    assert mailoutbox == []


def test_honeypot_stops_bots(client, alice, mailoutbox):
    response = remind(client, "alice@example.com", website="spam")
    assert response.status_code == HTTPStatus.OK
    assert mailoutbox == []


def test_get_sends_nothing(client, alice, mailoutbox):
    client.get(REMIND, {"email": "alice@example.com"})
    assert mailoutbox == []


def test_reminders_are_rate_limited_per_address(client, alice, mailoutbox):
    for _ in range(5):
        remind(client, "alice@example.com")
    response = remind(client, "alice@example.com")
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many requests" in response.content.decode()
    assert 'class="site-header"' in response.content.decode()
    assert len(mailoutbox) == 5


def test_reminders_are_rate_limited_per_ip(client, settings, mailoutbox):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "username_reminder": "3/m/ip,5/m/key",
    }
    for n in range(3):
        remind(client, f"person{n}@example.com")
    response = remind(client, "person9@example.com")
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert len(mailoutbox) == 3


def test_the_limit_is_per_client_ip(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "username_reminder": "1/m/ip"}
    assert remind(client, "a@example.com", REMOTE_ADDR="192.0.2.1").status_code == HTTPStatus.FOUND
    assert remind(client, "b@example.com", REMOTE_ADDR="192.0.2.2").status_code == HTTPStatus.FOUND
    limited = remind(client, "c@example.com", REMOTE_ADDR="192.0.2.1")
    assert limited.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_the_reminder_goes_to_the_stored_address_not_as_typed(client, alice, mailoutbox):
    client.post(REMIND, {"email": "  ALICE@Example.COM ", "website": ""})
    [message] = mailoutbox
    assert message.to == ["alice@example.com"]
