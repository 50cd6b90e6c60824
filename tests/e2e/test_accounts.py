"""The account journeys a visitor starts from the site header, in a real browser.

Each test follows one person from the header through every page and email: signing up,
confirming the address, logging in and out; and recovering a forgotten username and password.
The live server runs in the test's process with Django's locmem email backend, so the emails
it sends land in `mail.outbox`, and the test opens their links as the person would.
Any console error, such as a Content-Security-Policy violation, fails the test (see conftest.py).
"""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.helpers import emails_to, expect_heading, header, log_in, sign_up
from tests.factories import PASSWORD, link_in, make_verified_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
]

NEW_PASSWORD = "purple elephant under moonlight"
WRONG_CREDENTIALS = "The username and/or password you specified are not correct."


def expect_signed_in_as(page, username: str) -> None:
    expect(header(page).get_by_role("link", name=re.compile("^Signed in as"))).to_have_text(
        f"Signed in as {username}"
    )
    expect(header(page).get_by_role("button", name="Log out")).to_be_visible()


def test_register_confirm_email_log_in_and_log_out(page, live_server):
    mail.outbox.clear()
    username, email = "newcomer", "newcomer@example.com"

    # Register from the header.
    page.goto("/")
    header(page).get_by_role("link", name="Register").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/signup/")
    sign_up(page, username, email)

    # One verification email, nothing more.
    expect_heading(page, "Verify Your Email Address")
    expect(page).to_have_url(f"{live_server.url}/accounts/confirm-email/")
    sent = emails_to(email)
    assert len(sent) == 1, [message.subject for message in mail.outbox]
    confirm_path = link_in(sent[0], r"/accounts/confirm-email/[^\s]+/")

    # Opening the link only asks; pressing Confirm confirms.
    page.goto(confirm_path)
    expect_heading(page, "Confirm your email address")
    expect(page.locator("main")).to_contain_text(
        f"Please confirm that {email} is an email address of {username}."
    )
    assert not EmailAddress.objects.get(email=email).verified
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.locator(".messages")).to_contain_text(f"You have confirmed {email}.")
    assert EmailAddress.objects.get(email=email).verified
    expect(header(page).get_by_role("link", name="Login", exact=True)).to_be_visible()

    # Log in with the username.
    log_in(page, username, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/accounts/")
    expect(page.locator(".messages")).to_contain_text(f"Successfully signed in as {username}.")
    expect_signed_in_as(page, username)

    # The account overview shows the policy version agreed to at signup.
    header(page).get_by_role("link", name=re.compile("^Signed in as")).click()
    expect(page).to_have_url(f"{live_server.url}/accounts/")
    expect_heading(page, "Your account")
    agreed = page.get_by_role("region", name="What you agreed to")
    expect(agreed.get_by_role("heading", level=2)).to_have_text("What you agreed to")
    expect(agreed.locator("tbody tr")).to_have_count(1)
    expect(agreed.get_by_role("link", name="Privacy Policy, version 1")).to_have_attribute(
        "href", "/privacy/versions/1/"
    )
    expect(agreed.locator("tbody tr td").nth(2)).to_have_text("At signup")

    # Log out from the header: a POST form.
    header(page).get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator(".messages")).to_contain_text("You have signed out.")
    expect(header(page).get_by_role("link", name="Login", exact=True)).to_be_visible()
    expect(header(page).get_by_role("button", name="Log out")).to_have_count(0)
    expect(header(page)).not_to_contain_text("Signed in as")


def test_forgotten_username_and_password_reset_then_log_in(page, live_server):
    make_verified_user("forgetful", email="forgetful@example.com")
    mail.outbox.clear()
    email = "forgetful@example.com"

    # Username? from the header.
    page.goto("/")
    header(page).get_by_role("link", name="Username?").click()
    expect_heading(page, "Forgot your username?")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email my username").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/username/sent/")
    expect_heading(page, "Check your email")
    sent = emails_to(email)
    assert len(sent) == 1, [message.subject for message in mail.outbox]
    assert "Your username is: forgetful" in sent[0].body

    # Forgot Password? from the header.
    mail.outbox.clear()
    header(page).get_by_role("link", name="Forgot Password?").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/password/reset/")
    page.locator("[name=email]").fill(email)
    page.locator("form").filter(has=page.locator("[name=email]")).locator("[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/password/reset/done/")
    expect_heading(page, "Password Reset")
    sent = emails_to(email)
    assert len(sent) == 1, [message.subject for message in mail.outbox]
    reset_path = link_in(sent[0], r"/accounts/password/reset/key/[^\s]+/")

    # Set a new password from the emailed link.
    page.goto(reset_path)
    expect_heading(page, "Change Password")
    page.locator("[name=password1]").fill(NEW_PASSWORD)
    page.locator("[name=password2]").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change Password").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/password/reset/key/done/")
    expect(page.locator("main")).to_contain_text("Your password is now changed.")
    expect(header(page).get_by_role("link", name="Login", exact=True)).to_be_visible()

    # The old password no longer works; the new one does.
    log_in(page, "forgetful", PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.locator("main")).to_contain_text(WRONG_CREDENTIALS)
    expect(header(page).get_by_role("link", name="Login", exact=True)).to_be_visible()

    log_in(page, "forgetful", NEW_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/accounts/")
    expect_signed_in_as(page, "forgetful")
