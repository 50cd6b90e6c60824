"""A privacy request from someone without an account, walked in a real browser end to end.

A visitor finds "Ask about your data" in the footer, asks for a copy of their data, confirms
from the emailed link, and later downloads the answer that the privacy officer wrote in the
admin. Any console error, such as a CSP violation, fails the test (see conftest.py).
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import PrivacyRequest
from tests.e2e.helpers import emails_to, expect_heading, sign_in
from tests.factories import PASSWORD, link_in, make_verified_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}


def test_a_visitor_files_confirms_and_downloads_the_answer_staff_wrote(new_page, live_server):
    make_verified_user("officer", is_staff=True, is_superuser=True)
    visitor = new_page()
    visitor.goto("/privacy/")
    visitor.get_by_role("navigation", name="Legal").get_by_role(
        "link", name="Ask about your data"
    ).click()
    expect_heading(visitor, "Ask about your data")
    visitor.get_by_role("radio", name="A copy of my data").check()
    visitor.get_by_label("Your email address").fill("walkin@example.com")
    visitor.get_by_label("Details").fill("I phoned in May about prices.")
    visitor.get_by_role("button", name="Send my request").click()
    expect_heading(visitor, "Check your email")

    [mail] = emails_to("walkin@example.com")
    visitor.goto(link_in(mail, r"/privacy/request/verify/[^\s/]+/"))
    visitor.get_by_role("button", name="Confirm my request").click()
    expect_heading(visitor, "Request confirmed")
    assert PrivacyRequest.objects.get().status == "verified"

    # The officer finds it on the dashboard, then answers it in the queue.
    staff = new_page(viewport=DESKTOP)
    staff.goto("/admin/")
    sign_in(staff, "officer", PASSWORD)
    staff.goto("/admin/privacy/")
    requests = staff.get_by_role("region", name="Privacy requests")
    expect(requests).to_contain_text("1 open request; the next is due on ")
    requests.get_by_role("link").first.click()
    staff.get_by_role("link", name="walkin@example.com").click()
    expect(staff.locator(".field-account")).to_contain_text("No account uses this address.")
    staff.get_by_label("Your note or answer").fill("One price inquiry by phone on May 2.")
    staff.get_by_role("button", name="Complete and send the answer").click()
    expect(staff.locator(".messagelist")).to_contain_text("is now “completed”")
    expect(staff.locator("div.field-status")).to_contain_text("Completed")

    # The answer comes by a single-use download link, not in the email itself.
    answer = emails_to("walkin@example.com")[-1]
    assert "price inquiry" not in answer.body
    visitor.goto(link_in(answer, r"/privacy/request/download/[^\s/]+/"))
    with visitor.expect_download() as download:
        visitor.get_by_role("button", name="Download").click()
    path = download.value.path()
    with open(path, encoding="utf-8") as file:
        assert file.read() == "One price inquiry by phone on May 2."
    assert re.fullmatch(r"pamedspa-your-data-\d{8}\.txt", download.value.suggested_filename)
