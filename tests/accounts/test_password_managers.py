"""What password managers and phones expect: field hints, the change-password URL, passkeys.

- The login field accepts usernames, so it says `autocomplete="username"`.
- Every one-time-code field says `autocomplete="one-time-code"` and `inputmode="numeric"`.
- The reset-from-key page names the account, so the new password is saved under it.
- `/.well-known/change-password` leads to the password-change page.
- "Sign in with a passkey" is on the login page, with scripts from files only (strict CSP).
"""

import re
from http import HTTPStatus

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from tests.factories import PASSWORD, link_in, login, reauthenticate

pytestmark = pytest.mark.django_db


def field(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, f"no {name} field"
    return match.group(0)


def test_the_login_field_says_it_takes_a_username(client):
    html = client.get(reverse("account_login")).content.decode()
    assert 'autocomplete="username"' in field(html, "login")
    assert 'autocomplete="current-password"' in field(html, "password")


def test_the_login_page_offers_a_passkey_with_no_inline_script(client):
    html = client.get(reverse("account_login")).content.decode()
    assert "Sign in with a passkey" in html
    assert 'form="mfa_login"' in html
    for tag in re.findall(r"<script[^>]*>", html):
        # Only files from this site, and JSON data blocks that no browser runs.
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    assert "unsafe-inline" not in client.get(reverse("account_login"))["Content-Security-Policy"]


def test_the_well_known_change_password_url_leads_to_the_change_page(client):
    response = client.get("/.well-known/change-password")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("account_change_password")


def test_the_reset_page_names_the_account_for_password_managers(client, alice, mailoutbox):
    client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    page = client.get(link_in(mailoutbox[0], r"/accounts/password/reset/key/[^\s]+/"), follow=True)
    html = page.content.decode()
    username = field(html, "username")
    assert 'value="alice"' in username
    assert 'autocomplete="username"' in username
    assert "readonly" in username and "disabled" in username
    assert "(optional)" not in html.split('name="username"')[0].rsplit("<label", 1)[1]
    assert 'autocomplete="new-password"' in field(html, "password1")


def test_the_authenticator_setup_code_field_is_numeric_and_one_time(client, alice):
    login(client)
    reauthenticate(client, reverse("mfa_activate_totp"))
    html = client.get(reverse("mfa_activate_totp")).content.decode()
    code = field(html, "code")
    assert 'autocomplete="one-time-code"' in code and 'inputmode="numeric"' in code


def test_the_second_step_of_login_code_field_is_numeric_and_one_time(client, alice):
    TOTP.activate(alice, generate_totp_secret())
    response = client.post(reverse("account_login"), {"login": "alice", "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    html = client.get(reverse("mfa_authenticate")).content.decode()
    code = field(html, "code")
    assert 'autocomplete="one-time-code"' in code and 'inputmode="numeric"' in code
