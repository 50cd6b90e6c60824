"""At 375 px (a small phone) no page scrolls sideways, and the header shows no stray separator.

Every public page and every signed-in page is opened in Chromium at 375 px wide; the document
must be no wider than the window. Tables scroll inside their own box instead.
"""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import header, sign_in
from tests.factories import PASSWORD, make_pending_review, make_verified_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 740}
PUBLIC = [
    "/", "/privacy/", "/privacy/versions/", "/privacy/versions/1/",
    "/privacy/versions/1/compare/2/", "/privacy/contact/", "/privacy/request/",
    "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/accounts/username/",
]  # fmt: skip
SIGNED_IN = [
    "/", "/privacy/", "/privacy/review/", "/privacy/request/", "/accounts/",
    "/accounts/preferences/", "/accounts/data/", "/accounts/delete/", "/accounts/email/",
    "/accounts/password/change/", "/accounts/2fa/", "/accounts/sessions/",
]  # fmt: skip


# The outermost elements that stick out past the window's right edge, to name in a failure.
STICKING_OUT = """() => {
  const edge = document.documentElement.clientWidth + 0.5;
  return [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > edge
                  && !(el.parentElement.getBoundingClientRect().right > edge))
    .slice(0, 3)
    .map(el => `<${el.tagName.toLowerCase()} class="${el.className}">`);
}"""


def too_wide(page, paths) -> list[str]:
    wide = []
    for path in paths:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide.append(f"{path}: {width} px, from {page.evaluate(STICKING_OUT)}")
    return wide


def test_no_page_scrolls_sideways_at_375_px(new_page, privacy):
    alice = make_verified_user("alice")
    make_pending_review(privacy, alice)
    page = new_page(viewport=PHONE)

    wide = too_wide(page, PUBLIC)
    page.goto("/accounts/login/")
    sign_in(page, "alice", PASSWORD)
    wide += too_wide(page, SIGNED_IN)

    assert not wide, "pages wider than the phone:\n" + "\n".join(wide)


def test_the_narrow_header_shows_no_stray_separator(new_page):
    page = new_page(viewport=PHONE)
    page.goto("/")
    links = header(page).get_by_role("link")
    expect(links).to_have_count(4)
    # Each separator sits between two links on the same line; none starts a line.
    lefts = page.evaluate(
        """() => [...document.querySelectorAll('.account-nav li')].map(li => {
             const style = getComputedStyle(li, '::before');
             const shown = style.content !== 'none' && style.content !== '""'
                           && style.display !== 'none';
             return {shown, left: li.getBoundingClientRect().left};
           })"""
    )
    first_left = min(item["left"] for item in lefts)
    stray = [item for item in lefts if item["shown"] and item["left"] <= first_left + 1]
    assert not stray, lefts
