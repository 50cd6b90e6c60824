"""The privacy policy in a real browser: reading it, its contents, its history and the header.

Every test runs against the live server with version 1 of the privacy policy, as the data
migration loads it (conftest.py puts it back after each test's flush). Any console error, such
as a Content-Security-Policy violation, fails the test (see conftest.py).
"""

import re

import pytest
from playwright.sync_api import expect

from policy.models import Document, PolicyVersion
from policy.services.versions import version_draft_save, version_publish
from tests.e2e.helpers import header

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
]

SECTIONS = [
    ("1. Types of Data Collection", "#1-types-of-data-collection"),
    ("2. The Data We Collect and How We Use It", "#2-the-data-we-collect-and-how-we-use-it"),
    ("3.Customization, Preferences and Opt-Out", "#3customization-preferences-and-opt-out"),
    ("4. Advertising", "#4-advertising"),
    ("5. Security", "#5-security"),
    ("6. Policy Updates", "#6-policy-updates"),
]
HEADER_LINKS = [
    ("Login", "/accounts/login/"),
    ("Forgot Password?", "/accounts/password/reset/"),
    ("Username?", "/accounts/username/"),
    ("Register", "/accounts/signup/"),
]


def publish_version_2() -> PolicyVersion:
    draft = version_draft_save(
        version=PolicyVersion(
            document=Document.objects.get(slug="privacy"),
            title="Privacy Policy",
            body="## 1. New section\n\nText.",
            summary="Rewrote everything.",
        ),
        by=None,
    )
    return version_publish(version=draft, by=None)


def expect_seed_policy(page):
    """The page shows version 1 of the privacy policy with its dates and contents."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy Policy")
    expect(page.locator(".policy__header .eyebrow")).to_have_text("Privacy Policy · Version 1")
    expect(page.locator("dt:text-is('Date') + dd")).to_have_text("October 23, 2006")
    expect(page.locator("dt:text-is('Last revised') + dd")).to_have_text("January 3, 2009")
    expect(page.locator(".policy__body")).to_contain_text("Safe Harbor:")
    toc_links = page.locator("nav.toc a")
    expect(toc_links).to_have_text([text for text, _ in SECTIONS])
    for link, (_, href) in zip(toc_links.all(), SECTIONS, strict=True):
        expect(link).to_have_attribute("href", href)


def test_privacy_page_shows_the_policy_its_dates_and_contents(page):
    page.goto("/privacy/")

    expect(page).to_have_title(re.compile(r"^Privacy Policy · "))
    expect_seed_policy(page)


def test_contents_link_jumps_to_its_section(page, live_server):
    page.goto("/privacy/")
    heading = page.get_by_role("heading", name="5. Security", exact=True)
    expect(heading).not_to_be_in_viewport()

    page.locator("nav.toc").get_by_role("link", name="5. Security").click()

    expect(page).to_have_url(f"{live_server.url}/privacy/#5-security")
    expect(heading).to_have_id("5-security")
    expect(heading).to_be_in_viewport()


def test_all_versions_link_opens_the_history_with_version_1_current(page, live_server):
    page.goto("/privacy/")

    page.get_by_role("link", name="all versions").click()

    expect(page).to_have_url(f"{live_server.url}/privacy/versions/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Version history")
    versions = page.locator("li.versions__item")
    expect(versions).to_have_count(1)
    expect(versions.get_by_role("heading", level=2)).to_have_text("Version 1 Current")
    expect(versions.get_by_role("link", name="Version 1")).to_have_attribute(
        "href", "/privacy/versions/1/"
    )


def test_old_version_says_it_is_replaced_and_links_to_the_current_one(page, live_server):
    publish_version_2()
    page.goto("/privacy/versions/")
    versions = page.locator("li.versions__item")
    expect(versions.get_by_role("heading", level=2)).to_have_text(
        ["Version 2 Current", "Version 1"]
    )
    expect(versions.nth(0).locator(".versions__summary")).to_have_text("Rewrote everything.")

    page.get_by_role("link", name="Version 1", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/privacy/versions/1/")
    notice = page.get_by_role("note")
    expect(notice).to_contain_text("This is not the current policy.")
    expect(page.locator(".policy__header .eyebrow")).to_have_text("Privacy Policy · Version 1")
    expect(page.locator(".policy__body")).to_contain_text("Safe Harbor:")

    notice.get_by_role("link", name="Read the current policy (version 2)").click()

    expect(page).to_have_url(f"{live_server.url}/privacy/")
    expect(page.locator(".policy__header .eyebrow")).to_have_text("Privacy Policy · Version 2")
    expect(page.locator("nav.toc a")).to_have_text(["1. New section"])
    expect(page.get_by_role("heading", name="1. New section", exact=True)).to_be_visible()
    expect(page.locator(".policy__body")).not_to_contain_text("Safe Harbor")
    expect(page.get_by_role("note")).to_have_count(0)


def test_header_offers_visitors_the_account_links(page):
    page.goto("/privacy/")

    links = header(page).get_by_role("link")
    expect(links).to_have_text([label for label, _ in HEADER_LINKS])
    for link, (_, href) in zip(links.all(), HEADER_LINKS, strict=True):
        expect(link).to_have_attribute("href", href)


@pytest.mark.parametrize(("label", "href"), HEADER_LINKS)
def test_header_account_link_opens_a_working_page(page, live_server, label, href):
    page.goto("/privacy/")
    link = header(page).get_by_role("link", name=label)

    with page.expect_navigation() as navigation:
        link.click()

    expect(page).to_have_url(f"{live_server.url}{href}")
    assert navigation.value.status == 200


def test_policy_and_contents_work_without_javascript(new_page, live_server):
    page = new_page(java_script_enabled=False)
    page.goto("/privacy/")

    expect_seed_policy(page)
    heading = page.get_by_role("heading", name="6. Policy Updates", exact=True)
    expect(heading).not_to_be_in_viewport()
    page.locator("nav.toc").get_by_role("link", name="6. Policy Updates").click()
    expect(page).to_have_url(f"{live_server.url}/privacy/#6-policy-updates")
    expect(heading).to_be_in_viewport()


def test_csp_blocks_inline_styles_and_the_console_guard_reports_it(page, browser_errors):
    # Proves the guard in conftest.py works: a CSP violation reaches browser_errors.
    page.goto("/privacy/")
    body = page.locator("body")
    color_before = body.evaluate("element => getComputedStyle(element).color")

    with page.expect_console_message(lambda message: message.type == "error") as message:
        page.evaluate(
            "document.head.insertAdjacentHTML('beforeend',"
            " '<style>body { color: rgb(255, 0, 0) !important }</style>')"
        )

    assert "Content Security Policy" in message.value.text
    assert body.evaluate("element => getComputedStyle(element).color") == color_before
    assert any("Content Security Policy" in error for error in browser_errors)
    browser_errors.clear()  # expected here; any other error still fails the test


def test_printing_leaves_out_the_policy_change_banner_but_not_the_version_status(page):
    from django.utils import timezone

    privacy = Document.objects.get(slug="privacy")
    draft = version_draft_save(
        version=PolicyVersion(
            document=privacy, title="Privacy Policy", body="## 1. New\n\nText.",
            summary="We may share data.", is_material=True, effective_at=timezone.now(),
        ),
        by=None,
    )  # fmt: skip
    version_publish(version=draft, by=None, override_reason="test: now")

    page.goto("/privacy/")
    banner = page.locator(".banner")
    expect(banner).to_be_visible()
    page.emulate_media(media="print")
    expect(banner).to_be_hidden()
    expect(page.locator(".policy__body")).to_be_visible()

    page.emulate_media(media="screen")
    page.goto("/privacy/versions/1/")
    status = page.locator(".notice").first
    expect(status).to_be_visible()
    page.emulate_media(media="print")
    expect(status).to_be_visible()  # a printed old version still says it is not current
