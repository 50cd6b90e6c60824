"""What the browser tests do again and again: find the header, read headings, sign up and in."""

from django.core import mail
from playwright.sync_api import expect

from tests.factories import PASSWORD


def header(page):
    """The account links and buttons in the site header."""
    return page.get_by_role("navigation", name="Account", exact=True)


def expect_heading(page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def emails_to(address: str) -> list:
    """The emails the live server sent to `address`, oldest first."""
    return [message for message in mail.outbox if address in message.to]


def sign_in(page, login: str, password: str) -> None:
    """Fill in and submit the Sign In page the browser is on."""
    expect_heading(page, "Sign In")
    page.locator("[name=login]").fill(login)
    page.locator("[name=password]").fill(password)
    page.get_by_role("button", name="Sign In", exact=True).click()


def log_in(page, login: str, password: str) -> None:
    """Open the login page from the header and submit the form."""
    page.goto("/")
    header(page).get_by_role("link", name="Login", exact=True).click()
    sign_in(page, login, password)


def sign_up(page, username: str, email: str) -> None:
    """Fill in the signup page the browser is on, tick the policy box and submit."""
    page.locator("[name=username]").fill(username)
    page.locator("[name=email]").fill(email)
    page.locator("[name=password1]").fill(PASSWORD)
    page.locator("[name=password2]").fill(PASSWORD)
    policy_box = page.get_by_role("checkbox", name="I have read the Privacy Policy")
    expect(policy_box).not_to_be_checked()  # nobody agrees for the person
    policy_box.check()
    page.locator("form").filter(has=policy_box).locator("[type=submit]").click()
