"""Passkeys in Chromium, through a virtual authenticator (Chrome DevTools Protocol's WebAuthn).

A person adds a passkey from their two-factor page, signs out, and signs in again with "Sign in
with a passkey" and no password. allauth's WebAuthn script runs from static files under the
site's strict CSP; any CSP violation or script error is a console error and fails the test (see
conftest.py). WebAuthn refuses IP-address origins, so the live server is browsed as localhost.
"""

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect

from tests.e2e.helpers import expect_heading, header, sign_in
from tests.factories import PASSWORD, make_verified_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def virtual_authenticator(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {"options": {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                     "hasUserVerification": True, "isUserVerified": True}},
    )  # fmt: skip


def test_a_person_adds_a_passkey_then_signs_in_with_it_and_no_password(new_page, live_server):
    assert live_server.url.startswith("http://localhost:")
    user = make_verified_user("alice")
    page = new_page()
    virtual_authenticator(page)

    page.goto("/accounts/login/")
    sign_in(page, "alice", PASSWORD)
    page.goto("/accounts/2fa/webauthn/add/")
    if "reauthenticate" in page.url:  # a fresh login is not a re-authentication
        page.locator("[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
    page.get_by_label("Name").fill("My laptop")
    page.get_by_label("Passwordless").check()
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    key = Authenticator.objects.get(user=user, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "My laptop" and key.wrap().is_passwordless

    # Signed out, the login page offers the passkey; no password is typed.
    header(page).get_by_role("button", name="Log out").click()
    page.goto("/accounts/login/")
    expect_heading(page, "Sign In")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(header(page)).to_contain_text("Signed in as alice")

    # It is a second factor too: a password alone no longer signs in; the key finishes it.
    header(page).get_by_role("button", name="Log out").click()
    page.goto("/accounts/login/")
    sign_in(page, "alice", PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/authenticate/")
    expect(header(page)).not_to_contain_text("Signed in as alice")
    page.get_by_role("button", name="Use a security key").click()
    expect(header(page)).to_contain_text("Signed in as alice")


def test_without_scripts_the_login_page_offers_no_passkey(new_page):
    """A passkey needs the browser's scripts: where they do not run, the button would only
    lead to a nameless "This field is required.", so it is not offered, nor a stray note."""
    page = new_page(java_script_enabled=False)
    page.goto("/accounts/login/")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    expect(page.get_by_text("This functionality requires JavaScript.")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign In", exact=True)).to_be_visible()
