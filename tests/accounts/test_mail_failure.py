"""A mail server that is down: a clear page, no 500, and no half-made account or change."""

from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from policy.models import Acceptance
from tests.factories import signup_data
from tests.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_server_down(settings):
    """Real SMTP, pointed at a local port where nothing listens: connection refused."""
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_TIMEOUT = 2


def _assert_friendly_failure(response) -> None:
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.headers["Retry-After"]
    html = response.content.decode()
    assert "We could not send the email" in html
    assert "nothing was saved" in html


def test_signup_leaves_no_account_when_mail_fails(client, mail_server_down):
    data = signup_data(username="frank", email="frank@example.com")
    response = client.post(reverse("account_signup"), data)
    _assert_friendly_failure(response)
    assert not get_user_model().objects.filter(username="frank").exists()
    assert not EmailAddress.objects.filter(email="frank@example.com").exists()
    assert not Acceptance.objects.exists()


def test_signup_succeeds_on_retry_once_mail_is_back(client, mail_server_down, settings):
    data = signup_data(username="frank", email="frank@example.com")
    client.post(reverse("account_signup"), data)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    response = client.post(reverse("account_signup"), data)
    assert response.status_code == HTTPStatus.FOUND
    assert get_user_model().objects.filter(username="frank").exists()
    # The first mail never went out, so it does not count against the address's limit
    # (one confirmation mail per few minutes): the retry's mail is sent, not skipped.
    assert [message.to for message in mail.outbox] == [["frank@example.com"]]


def test_password_reset_answers_clearly_when_mail_fails(client, alice, mail_server_down):
    response = client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    _assert_friendly_failure(response)


def test_username_reminder_answers_clearly_when_mail_fails(client, alice, mail_server_down):
    response = client.post(reverse("account_username_reminder"), {"email": "alice@example.com"})
    _assert_friendly_failure(response)


def test_unknown_address_fails_the_same_way_as_a_known_one(client, alice, mail_server_down):
    known = client.post(reverse("account_username_reminder"), {"email": "alice@example.com"})
    unknown = client.post(reverse("account_username_reminder"), {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == HTTPStatus.SERVICE_UNAVAILABLE


def test_a_security_notice_that_fails_does_not_undo_the_change_or_say_it_did(
    client, alice, mail_server_down, caplog
):
    """Changing a password sends a notice; the change stands when that mail cannot go."""
    from tests.factories import PASSWORD, login, reauthenticate

    login(client)
    reauthenticate(client, reverse("account_change_password"))
    new = "a brand new password 2"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert "nothing was saved" not in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(new)
    assert "security notice account/email/password_changed" in caplog.text
