"""Account settings: overview, password change, email addresses, sessions and two-factor."""

from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from policy.models import Acceptance, PolicyVersion
from policy.services.ledger import acceptance_record
from tests.factories import PASSWORD, login, make_published, make_verified_user, reauthenticate
from tests.tables import table_rows

pytestmark = pytest.mark.django_db


def test_overview_needs_login(client):
    response = client.get(reverse("account_overview"))
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("account_login"))


def test_overview_lists_what_the_user_agreed_to(client, alice):
    Acceptance.objects.create(
        user=alice,
        version=PolicyVersion.objects.get(number=1),
        version_sha256=PolicyVersion.objects.get(number=1).sha256,
        method="signup",
        ip_address="127.0.0.1",
    )
    login(client)
    html = client.get(reverse("account_overview")).content.decode()
    assert "What you agreed to" in html
    assert "Privacy Policy, version 1" in html
    assert "At signup" in html
    for name in ["account_email", "account_change_password", "mfa_index", "usersessions_list"]:
        assert f'href="{reverse(name)}"' in html


def test_overview_shows_only_the_users_own_acceptances(client, alice, privacy):
    bob = make_verified_user("bob")
    v1 = privacy.versions.get(number=1)
    v2 = make_published(privacy)
    accepted = [(alice, v1, "signup"), (bob, v1, "email_link"), (bob, v2, "review")]
    for user, version, method in accepted:
        acceptance_record(
            user=user, version=version, method=method, ip_address="192.0.2.1", user_agent="x"
        )
    login(client)
    html = client.get(reverse("account_overview")).content.decode()
    rows = table_rows(html, start='id="agreed-title"', end="</section>")
    assert [(row[0], row[2]) for row in rows] == [("Privacy Policy, version 1", "At signup")]


def test_change_password_needs_the_current_one_and_sends_a_notice(client, alice, mailoutbox):
    login(client)
    url = reverse("account_change_password")
    wrong = client.post(url, {"oldpassword": "nope", "password1": "x" * 12, "password2": "x" * 12})
    assert wrong.status_code == HTTPStatus.OK
    assert "Please type your current password." in wrong.content.decode()
    new = "another fine passphrase 7"
    client.post(url, {"oldpassword": PASSWORD, "password1": new, "password2": new})
    alice.refresh_from_db()
    assert alice.check_password(new)
    assert any("password" in message.subject.lower() for message in mailoutbox)


def test_adding_an_email_needs_recent_reauthentication(client, alice):
    client.force_login(alice)  # a session without a recent password check
    response = client.post(reverse("account_email"), {"action_add": "", "email": "new@example.com"})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert not EmailAddress.objects.filter(email="new@example.com").exists()


def test_adding_an_email_after_reauthenticating_sends_a_verification(client, alice, mailoutbox):
    login(client)
    url = reverse("account_email")
    asked = client.post(url, {"action_add": "", "email": "new@example.com"})
    assert asked.url.startswith(reverse("account_reauthenticate"))
    wrong = client.post(asked.url, {"password": "not my password"})
    assert wrong.status_code == HTTPStatus.OK
    assert not EmailAddress.objects.filter(email="new@example.com").exists()
    client.post(asked.url, {"password": PASSWORD})  # resumes the suspended POST
    assert EmailAddress.objects.filter(user=alice, email="new@example.com", verified=False).exists()
    assert any(message.to == ["new@example.com"] for message in mailoutbox)


@pytest.mark.parametrize(
    "name", ["account_email", "account_change_password", "mfa_index", "usersessions_list"]
)
def test_settings_pages_load_in_the_site_design(client, alice, name):
    login(client)
    response = client.get(reverse(name))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert 'class="site-header"' in html
    assert 'class="manage-nav"' in html
    assert " style=" not in html


def test_sessions_page_lists_the_current_session(client, alice):
    login(client)
    html = client.get(reverse("usersessions_list")).content.decode()
    assert "127.0.0.1" in html
    assert html.count('<td data-label="Browser"') == 1
    assert '<span class="badge badge--current">This browser</span>' in html
    assert f'action="{reverse("account_logout")}"' in html  # the only session: a plain log out
    assert ">Log out</button>" in html


def test_logging_out_everywhere_else_ends_the_other_sessions_only(client, alice):
    other = Client()
    login(other)
    login(client)
    html = client.get(reverse("usersessions_list")).content.decode()
    assert html.count('<td data-label="Browser"') == 2
    assert html.count("This browser") == 1
    assert ">Log out everywhere else</button>" in html
    client.post(reverse("usersessions_list"))
    assert other.get(reverse("account_overview")).status_code == HTTPStatus.FOUND  # to log in
    assert client.get(reverse("account_overview")).status_code == HTTPStatus.OK


def test_totp_setup_shows_an_inline_qr_code(client, alice):
    login(client)
    reauthenticate(client, reverse("mfa_activate_totp"))
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert '<svg role="img" aria-label="QR code for your authenticator app"' in html
    assert "data:image" not in html
    assert "<?xml" not in html


def test_making_another_address_primary_sends_a_security_notice(client, alice, mailoutbox):
    EmailAddress.objects.create(user=alice, email="second@example.com", verified=True)
    login(client)
    url = reverse("account_email")
    asked = client.post(url, {"action_primary": "", "email": "second@example.com"})
    assert asked.url.startswith(reverse("account_reauthenticate"))
    client.post(asked.url, {"password": PASSWORD})
    assert EmailAddress.objects.get(user=alice, primary=True).email == "second@example.com"
    notices = [m for m in mailoutbox if m.subject == "[New Image MedSpa] Email Changed"]
    assert len(notices) == 1
    assert "127.0.0.1" in notices[0].body  # says where the change came from


def test_removing_an_address_sends_a_security_notice(client, alice, mailoutbox):
    EmailAddress.objects.create(user=alice, email="second@example.com", verified=True)
    login(client)
    asked = client.post(
        reverse("account_email"), {"action_remove": "", "email": "second@example.com"}
    )
    client.post(asked.url, {"password": PASSWORD})
    assert not EmailAddress.objects.filter(email="second@example.com").exists()
    assert any(m.subject == "[New Image MedSpa] Email Removed" for m in mailoutbox)
