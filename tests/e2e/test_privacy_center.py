"""The privacy center, in a real browser, followed by one person from opting in to deleting.

Staff offer a newsletter. A person turns it on in their preferences, gets an issue, and leaves it
from the email's unsubscribe link without signing in. They then download everything the site
holds about them (confirming their password first) and delete their account. The live server
runs in the test's process with the locmem email backend, so the emails land in `mail.outbox`.
Any console error, such as a Content-Security-Policy violation, fails the test (see conftest.py).
"""

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import PreferenceChange, Subscription, Topic
from tests.e2e.helpers import emails_to, expect_heading, header, log_in
from tests.factories import PASSWORD, link_in, make_verified_user, send_topic_mail

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
]

WRONG_CREDENTIALS = "The username and/or password you specified are not correct."
UNSUBSCRIBE_PATH = r"/accounts/unsubscribe/[^\s/]+/"


def account_nav(page):
    return page.get_by_role("navigation", name="Account settings")


def reauthenticate(page, live_server, next_path: str) -> None:
    """allauth's Confirm Access page, reached from a sensitive page: type the password again."""
    expect(page).to_have_url(
        f"{live_server.url}/accounts/reauthenticate/?next={quote(next_path, safe='')}"
    )
    expect_heading(page, "Confirm Access")
    page.locator("main [name=password]").fill(PASSWORD)


def opted_in(user, topic) -> bool:
    return Subscription.objects.get(user=user, topic=topic).opted_in


def test_opt_in_unsubscribe_download_data_and_delete_account(page, live_server):
    newsletter = Topic.objects.create(
        name="Newsletter", slug="newsletter", description="Monthly news."
    )
    username, email = "dana", "dana@example.com"
    user = make_verified_user(username, email=email)
    mail.outbox.clear()

    # 1. Log in and turn the newsletter on from Preferences.
    log_in(page, username, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/accounts/")
    expect(page.locator(".messages")).to_contain_text(f"Successfully signed in as {username}.")
    account_nav(page).get_by_role("link", name="Preferences").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/preferences/")
    expect_heading(page, "Your preferences")
    expect(account_nav(page).get_by_role("link", name="Preferences")).to_have_attribute(
        "aria-current", "page"
    )
    switch = page.get_by_role("checkbox", name="Newsletter")
    expect(switch).not_to_be_checked()
    expect(page.locator("main")).to_contain_text("Monthly news.")
    switch.check()
    page.get_by_role("button", name="Save preferences").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/preferences/")
    expect(page.locator(".messages")).to_contain_text("Saved: 1 change.")
    expect(page.get_by_role("checkbox", name="Newsletter")).to_be_checked()
    assert opted_in(user, newsletter)

    # 2. An issue arrives with a one-click unsubscribe link; they leave while signed out.
    send_topic_mail(newsletter, subject="News", body="Hello")
    [issue] = emails_to(email)
    assert issue.subject == "[New Image MedSpa] News"
    headers = issue.message()
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_path = link_in(issue, UNSUBSCRIBE_PATH)
    header_url = re.fullmatch(r"<https?://[^/]+(/[^>]+)>", headers["List-Unsubscribe"])
    assert header_url, headers["List-Unsubscribe"]
    assert header_url.group(1) == unsubscribe_path

    header(page).get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator(".messages")).to_contain_text("You have signed out.")

    page.goto(unsubscribe_path)
    expect_heading(page, "Unsubscribe from Newsletter?")
    assert opted_in(user, newsletter), "opening the link (GET) must not unsubscribe"
    page.locator("main").get_by_role("button", name="Unsubscribe").click()
    expect_heading(page, "You are unsubscribed")
    expect(page.locator("main")).to_contain_text("You will get no more email about Newsletter.")
    assert not opted_in(user, newsletter)

    # 3. Log in again and download their data, confirming the password first.
    log_in(page, username, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/accounts/")
    account_nav(page).get_by_role("link", name="Your data").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/data/")
    expect_heading(page, "Your data")
    page.locator("main").get_by_role("button", name="Download my data (JSON)").click()
    reauthenticate(page, live_server, "/accounts/data/?confirmed")
    page.locator("main button[type=submit]").click()
    # Back on the data page, which says so; the button now downloads at once.
    expect(page).to_have_url(f"{live_server.url}/accounts/data/?confirmed")
    expect(page.locator("main")).to_contain_text("you confirmed it's you")
    with page.expect_download() as info:
        page.locator("main").get_by_role("button", name="Download my data (JSON)").click()
    download = info.value
    assert download.suggested_filename == f"pamedspa-{username}-{timezone.now():%Y%m%d}.json"
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert data["account"]["username"] == username
    assert [address["email"] for address in data["account"]["email_addresses"]] == [email]
    assert [(p["topic"], p["opted_in"]) for p in data["preferences"]] == [("newsletter", False)]
    changes = [
        (change["topic"], change["opted_in"], change["method"])
        for change in data["preference_changes"]
    ]
    assert changes == [  # newest first
        ("newsletter", False, "unsubscribe"),
        ("newsletter", True, "preferences"),
    ]

    # 4. Delete the account. They confirmed their password moments ago, so no second prompt.
    account_nav(page).get_by_role("link", name="Delete account").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/delete/")
    expect_heading(page, "Delete your account")
    main = page.locator("main")
    expect(main).to_contain_text("This cannot be undone.")
    expect(main).to_contain_text("kept as legal evidence, without your name")
    expect(main).to_contain_text(f"we send a confirmation to {email}, and you are signed out.")
    page.get_by_label("Type your username to confirm").fill(username)
    main.get_by_role("button", name="Delete my account").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect_heading(page, "Welcome to New Image MedSpa")
    expect(page.locator(".messages")).to_contain_text(
        "Your account has been deleted. We have emailed a confirmation."
    )
    expect(header(page).get_by_role("link", name="Login", exact=True)).to_be_visible()
    expect(header(page).get_by_role("button", name="Log out")).to_have_count(0)

    [confirmation] = [m for m in emails_to(email) if m is not issue]
    assert confirmation.subject == "[New Image MedSpa] Your account has been deleted"
    assert f'Your account "{username}" has been deleted, as you asked.' in confirmation.body

    assert not get_user_model().objects.filter(username=username).exists()
    kept = list(PreferenceChange.objects.filter(topic=newsletter))
    assert len(kept) == 2
    assert {(c.user_id, c.ip_address, c.user_agent) for c in kept} == {(None, None, "")}
    assert len({c.subject_id for c in kept}) == 1 and kept[0].subject_id is not None

    # The old password no longer opens anything.
    log_in(page, username, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.locator("main")).to_contain_text(WRONG_CREDENTIALS)
