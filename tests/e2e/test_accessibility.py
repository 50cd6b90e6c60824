"""axe-core finds no accessibility violation on the pages people sign in, sign up and recover
their account from, nor on the home and policy pages, blank or showing form errors.

axe (pinned in `make tools`) is put into each page by the browser itself, with the page's
Content-Security-Policy bypassed for that one purpose: the policy forbids any script the site
does not serve. The other browser tests keep the policy on.
"""

import os

import pytest

from tests.processes import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, plus axe's best practices (landmarks, one h1, headings in order...).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
PAGES = [
    "/",
    "/privacy/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/accounts/username/",
]


@pytest.fixture
def axe_page(new_page):
    if not AXE.exists():
        reason = f"needs axe-core at {AXE} (make tools)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; refusing to skip it in CI", pytrace=False)
        pytest.skip(reason)
    return new_page(bypass_csp=True)


def violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => `${v.id}: ${v.help} (${v.nodes.length}): ` +"
        " v.nodes.map(n => n.html).join(' | ')))",
        TAGS,
    )
    return found


@pytest.mark.parametrize("path", PAGES)
def test_no_violations_on_a_blank_page(axe_page, path):
    axe_page.goto(path)
    assert violations(axe_page) == []


def test_no_violations_with_form_errors_shown(axe_page):
    axe_page.goto("/accounts/login/")
    axe_page.get_by_label("Login").fill("nobody")
    axe_page.get_by_label("Password").fill("not the password")
    axe_page.get_by_role("button", name="Sign In", exact=True).click()
    axe_page.wait_for_selector(".form-errors")
    assert violations(axe_page) == []
    axe_page.goto("/accounts/signup/")
    axe_page.get_by_role("button", name="Sign Up", exact=True).click()
    assert axe_page.locator(".field--invalid").count() == 0  # the browser checks required ones
    axe_page.get_by_label("Username").fill("newperson")
    axe_page.get_by_label("Email").fill("x@example.com")
    axe_page.get_by_label("Password", exact=True).fill("short")
    axe_page.get_by_label("Password (again)").fill("other")
    axe_page.get_by_label("I have read the").check()
    axe_page.get_by_role("button", name="Sign Up", exact=True).click()
    axe_page.wait_for_selector(".field--invalid")
    assert violations(axe_page) == []
    # Not the red text alone: the field in error gets the error colour too.
    invalid = axe_page.locator(".field--invalid input").first
    assert invalid.evaluate("e => getComputedStyle(e).borderTopColor") == "rgb(179, 38, 30)"
