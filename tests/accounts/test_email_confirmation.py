"""Confirming an email address: POST only, and expired or used links say so and offer a new one."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, link_in, make_verified_user, signup_data

pytestmark = pytest.mark.django_db

CONFIRM = r"/accounts/confirm-email/[^/\s]+/"


@pytest.fixture
def confirm_url(client, mailoutbox):
    client.post(reverse("account_signup"), signup_data(username="dave", email="dave@example.com"))
    return link_in(mailoutbox[-1], CONFIRM)


def test_get_shows_a_button_and_confirms_nothing(client, confirm_url):
    response = client.get(confirm_url)
    assert response.status_code == HTTPStatus.OK
    assert 'method="post"' in response.content.decode()
    assert not EmailAddress.objects.get(email="dave@example.com").verified


def test_post_confirms_then_the_user_can_log_in(client, confirm_url):
    response = client.post(confirm_url)
    assert response.status_code == HTTPStatus.FOUND
    assert EmailAddress.objects.get(email="dave@example.com").verified
    client.post(reverse("account_login"), {"login": "dave", "password": PASSWORD})
    assert client.session.get("_auth_user_id")


def test_a_used_link_says_so_and_offers_a_new_one(client, confirm_url):
    client.post(confirm_url)
    response = client.get(confirm_url)
    html = response.content.decode()
    assert "This link has expired or was already used" in html
    assert f'class="button" href="{reverse("account_login")}">Log in to get a new link' in html


def test_an_expired_link_says_so_and_confirms_nothing(client, confirm_url, monkeypatch):
    later = timezone.now() + timedelta(days=1, minutes=1)
    monkeypatch.setattr("django.core.signing.time.time", lambda: later.timestamp())
    response = client.get(confirm_url)
    assert "This link has expired or was already used" in response.content.decode()
    client.post(confirm_url)
    assert not EmailAddress.objects.get(email="dave@example.com").verified


def test_a_signed_in_user_with_a_dead_link_is_offered_a_resend(client, confirm_url, alice):
    client.post(confirm_url)
    client.force_login(alice)
    html = client.get(confirm_url).content.decode()
    assert f'href="{reverse("account_email")}">Send a new confirmation email' in html


def test_logging_in_unverified_sends_a_fresh_link_after_the_cooldown(
    client, confirm_url, mailoutbox
):
    client.post(reverse("account_login"), {"login": "dave", "password": PASSWORD})
    assert len(mailoutbox) == 1  # within allauth's resend cooldown: no mail flood
    cache.clear()  # the cooldown (counted in the cache) has passed
    client.post(reverse("account_login"), {"login": "dave", "password": PASSWORD})
    assert len(mailoutbox) == 2
    assert link_in(mailoutbox[-1], CONFIRM)


RESEND = reverse("account_resend_confirmation")


def test_the_check_your_email_page_offers_to_send_the_link_again(client, mailoutbox, privacy):
    client.post(reverse("account_signup"), signup_data(username="frank", email="frank@example.com"))
    page = client.get(reverse("account_email_verification_sent")).content.decode()
    assert "Send the email again" in page and "frank@example.com" in page

    too_soon = client.post(RESEND)
    assert too_soon.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert too_soon.headers["Retry-After"] == "180"  # allauth's 3-minute cooldown
    assert "Please wait 3 minutes and try again." in too_soon.content.decode()
    assert len(mailoutbox) == 1

    cache.clear()  # as if the 3 minutes had passed
    again = client.post(RESEND, follow=True)
    assert "We sent the email again to frank@example.com." in again.content.decode()
    first, second = mailoutbox
    assert second.to == ["frank@example.com"]
    assert second.subject == first.subject
    assert "/accounts/confirm-email/" in second.body


def test_a_taken_address_gets_the_same_page_and_one_email_again(client, mailoutbox, privacy):
    make_verified_user("alice")
    client.post(
        reverse("account_signup"), signup_data(username="mallory", email="alice@example.com")
    )
    page = client.get(reverse("account_email_verification_sent")).content.decode()
    assert "Send the email again" in page
    cache.clear()

    again = client.post(RESEND, follow=True)

    assert "We sent the email again to alice@example.com." in again.content.decode()
    assert [m.to for m in mailoutbox] == [["alice@example.com"]] * 2
    assert mailoutbox[0].subject == mailoutbox[1].subject  # "account already exists", again


def test_resending_without_a_signup_in_this_session_sends_nothing(client, mailoutbox):
    response = client.post(RESEND)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("account_login")
    assert not mailoutbox
