"""Register: fields, password rules, policy acceptance, honeypot, verification, enumeration."""

from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from policy.models import Acceptance
from tests.factories import PASSWORD, link_in, make_published, signup_data

pytestmark = pytest.mark.django_db

SIGNUP = reverse("account_signup")
User = get_user_model()


def test_signup_page_shows_the_fields_and_the_policy_checkbox(client):
    html = client.get(SIGNUP).content.decode()
    for name in ["username", "email", "password1", "password2", "accept_policy"]:
        assert f'name="{name}"' in html
    assert 'I have read the <a href="/privacy/versions/1/"' in html
    assert "Version 1, in effect since January 3, 2009." in html
    assert 'name="policy_version" value="1"' in html
    assert 'autocomplete="new-password"' in html
    assert 'autocomplete="email"' in html
    assert "checked" not in html.split('name="accept_policy"')[1].split(">")[0]


def test_signup_creates_an_unverified_account_and_sends_a_confirmation(client, mailoutbox):
    response = client.post(SIGNUP, signup_data())
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(username="carol")
    assert not EmailAddress.objects.get(user=user).verified
    assert "_auth_user_id" not in client.session
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["carol@example.com"]
    assert mailoutbox[0].subject.startswith("[New Image MedSpa]")
    assert link_in(mailoutbox[0], r"/accounts/confirm-email/[^/\s]+/")


def test_signup_records_acceptance_of_the_current_version(client):
    client.post(
        SIGNUP,
        signup_data(),
        headers={"user-agent": "Mozilla/5.0 (Test)"},
        REMOTE_ADDR="203.0.113.7",
    )
    acceptance = Acceptance.objects.get()
    assert acceptance.user.username == "carol"
    assert acceptance.version.number == 1
    assert acceptance.version_sha256 == acceptance.version.sha256
    assert acceptance.method == "signup"
    assert acceptance.ip_address == "203.0.113.7"
    assert acceptance.user_agent == "Mozilla/5.0 (Test)"
    assert (timezone.now() - acceptance.accepted_at).total_seconds() < 60


def test_acceptance_ip_ignores_a_spoofed_forwarded_for_without_trusted_proxies(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    client.post(
        SIGNUP, signup_data(), headers={"x-forwarded-for": "198.51.100.66"}, REMOTE_ADDR="10.0.0.2"
    )
    assert Acceptance.objects.get().ip_address == "10.0.0.2"


def test_acceptance_ip_follows_the_trusted_proxy_count(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    client.post(
        SIGNUP,
        signup_data(),
        headers={"x-forwarded-for": "198.51.100.66, 203.0.113.9"},
        REMOTE_ADDR="10.0.0.2",
    )
    # The client may forge the first entry; only the one our proxy appended is trusted.
    assert Acceptance.objects.get().ip_address == "203.0.113.9"


def test_acceptance_points_at_the_version_current_at_signup(client, privacy):
    make_published(privacy)
    client.post(SIGNUP, signup_data(policy_version="2"))
    assert Acceptance.objects.get().version.number == 2


def test_signup_refuses_when_the_policy_changed_meanwhile(client, privacy):
    make_published(privacy)
    response = client.post(SIGNUP, signup_data(policy_version="1"))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "The Privacy Policy changed while you were signing up" in html
    assert 'name="policy_version" value="2"' in html
    assert not User.objects.filter(username="carol").exists()


def test_signup_without_ticking_the_box_saves_nothing_and_keeps_the_input(client, mailoutbox):
    response = client.post(SIGNUP, signup_data(accept_policy=None))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Please read the Privacy Policy and tick the box to go on." in html
    assert 'value="carol"' in html
    assert 'value="carol@example.com"' in html
    assert PASSWORD not in html
    assert not User.objects.exists()
    assert not Acceptance.objects.exists()
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "This password is too short."),
        ("password123", "This password is too common."),
        ("8675309123456", "This password is entirely numeric."),
        ("carol@example.com", "The password is too similar to the"),
    ],
)
def test_weak_passwords_are_refused(client, password, message):
    response = client.post(SIGNUP, signup_data(password1=password, password2=password))
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_mismatched_passwords_are_refused(client):
    response = client.post(SIGNUP, signup_data(password2=PASSWORD + "!"))
    assert "You must type the same password each time." in response.content.decode()
    assert not User.objects.exists()


def test_honeypot_stops_bots(client, mailoutbox):
    response = client.post(SIGNUP, signup_data(website="http://spam.example"))
    assert response.status_code == HTTPStatus.OK
    assert "This form could not be accepted." in response.content.decode()
    assert not User.objects.exists()
    assert mailoutbox == []


def test_signup_with_a_taken_email_answers_the_same_and_creates_nothing(client, alice, mailoutbox):
    fresh = client.post(SIGNUP, signup_data())
    client.logout()
    taken = client.post(SIGNUP, signup_data(username="mallory", email="alice@example.com"))
    assert (taken.status_code, taken.url) == (fresh.status_code, fresh.url)
    assert not User.objects.filter(username="mallory").exists()
    assert len(mailoutbox) == 2
    assert mailoutbox[1].to == ["alice@example.com"]
    assert "already" in mailoutbox[1].body.lower()


def test_an_unverified_user_cannot_log_in(client, mailoutbox):
    client.post(SIGNUP, signup_data())
    response = client.post(reverse("account_login"), {"login": "carol", "password": PASSWORD})
    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


def test_signup_is_rate_limited_per_ip(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "3/m/ip"}
    for n in range(3):
        client.post(SIGNUP, signup_data(username=f"user{n}", email=f"user{n}@example.com"))
        client.logout()
    response = client.post(SIGNUP, signup_data(username="user9", email="user9@example.com"))
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many requests" in response.content.decode()
    assert not User.objects.filter(username="user9").exists()
