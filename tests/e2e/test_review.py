"""A material change to the privacy policy, reviewed in a real browser by the person it concerns.

Someone registers and confirms their address; staff then publish a material version that asks
about a new use of data. The person gets the notice email, follows its link, logs in, reads what
changed since the version they accepted, declines the new use, and the review banner goes away.
The live server runs in the test's process with the locmem email backend and the immediate
task backend, so the notice lands in `mail.outbox` as soon as the publish commits.
Any console error, such as a Content-Security-Policy violation, fails the test (see conftest.py).
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from playwright.sync_api import expect

from policy.models import Choice, Document, NewUse, PolicyVersion
from policy.services.versions import version_draft_save, version_publish
from tests.e2e.helpers import emails_to, expect_heading, header, sign_in, sign_up
from tests.factories import PASSWORD, link_in, make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
]

PARTNER_SENTENCE = "We may share your email with partners if you allow it."
SUMMARY = "We may share data with partners, if you allow it."


def review_banner(page):
    return page.get_by_role("complementary", name="Privacy policy review")


def register_and_confirm(page, live_server, username: str, email: str) -> None:
    """Sign up on the signup page, accepting the privacy policy, and confirm the address."""
    page.goto("/accounts/signup/")
    sign_up(page, username, email)
    expect_heading(page, "Verify Your Email Address")
    [confirmation] = emails_to(email)
    page.goto(link_in(confirmation, r"/accounts/confirm-email/[^\s]+/"))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.locator(".messages")).to_contain_text(f"You have confirmed {email}.")


def publish_partner_offers() -> PolicyVersion:
    """What staff do in the admin: a material version 2 with one new use, effective now."""
    editor = make_user("editor", staff=True, is_superuser=True)
    privacy = Document.objects.get(slug="privacy")
    draft = version_draft_save(
        version=PolicyVersion(
            document=privacy,
            title="Privacy Policy",
            body=privacy.versions.get(number=1).body
            + f"\n\n## 7. Partner offers\n\n{PARTNER_SENTENCE}\n",
            summary=SUMMARY,
            is_material=True,
        ),
        by=editor,
    )
    NewUse.objects.create(
        version=draft, name="Partner offers", description="Share your email with selected partners."
    )
    return version_publish(version=draft, by=editor, override_reason="test: effective now")


def test_notice_email_leads_to_review_where_the_person_declines_a_new_use(page, live_server):
    mail.outbox.clear()
    username, email = "reader", "reader@example.com"
    register_and_confirm(page, live_server, username, email)

    # Staff publish a material change: the person is emailed once, with a link to review it.
    mail.outbox.clear()
    version = publish_partner_offers()
    assert version.number == 2
    [notice] = emails_to(email)
    assert notice.subject.startswith("[New Image MedSpa] Our privacy policy changed on ")
    assert SUMMARY in notice.body
    review_path = link_in(notice, r"/privacy/review/\?via=email")

    # Following the link while logged out asks them to log in, then opens the review.
    page.goto(review_path)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    sign_in(page, username, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/privacy/review/?via=email")
    expect_heading(page, "Review the changes to our privacy policy")
    expect(review_banner(page)).to_contain_text("Our privacy policy has changed.")

    # What changed since version 1, which they accepted at signup.
    main = page.locator("main")
    expect(main).to_contain_text("You last accepted version 1.")
    expect(page.get_by_role("region", name="Summary of changes")).to_contain_text(SUMMARY)
    added = page.locator(".redline-section", has=page.get_by_text("New section"))
    expect(added).to_have_count(1)
    expect(added.locator("ins")).to_have_text(["7. Partner offers", PARTNER_SENTENCE])
    expect(page.locator(".redline ins")).to_have_count(2)

    # The choice about the new use, with nothing chosen for them.
    choice = page.get_by_role("group", name="Partner offers")
    expect(choice).to_contain_text("Share your email with selected partners.")
    allow = choice.get_by_role("radio", name="Allow", exact=True)
    deny = choice.get_by_role("radio", name="Don't allow", exact=True)
    expect(allow).not_to_be_checked()
    expect(deny).not_to_be_checked()

    deny.check()
    page.get_by_role("button", name="I have read version 2: save my choices").click()

    # Back on the account page: thanked, no banner, and the answer on record.
    expect(page).to_have_url(f"{live_server.url}/accounts/")
    expect_heading(page, "Your account")
    expect(page.locator(".messages")).to_contain_text(
        "Thank you. We have recorded your answers for version 2."
    )
    expect(review_banner(page)).to_have_count(0)
    answers = page.get_by_role("region", name="Your answers about new uses of your data")
    expect(answers.locator("tbody tr")).to_have_count(1)
    expect(answers.locator("tbody tr td strong")).to_have_text("Partner offers")
    expect(answers.locator("tbody tr td").nth(1)).to_have_text("Don't allow")
    history = page.get_by_role("region", name="Every answer you gave")
    expect(history.locator("tbody tr")).to_have_count(1)
    expect(history.locator("tbody tr td").nth(0)).to_have_text("Partner offers")
    expect(history.locator("tbody tr td").nth(1)).to_have_text("Don't allow")
    agreed = page.get_by_role("region", name="What you agreed to")
    expect(agreed.get_by_role("link", name="Privacy Policy, version 2")).to_be_visible()
    expect(agreed.locator("tbody")).to_contain_text("From an email link")

    # The banner stays gone on other pages too.
    page.goto("/")
    expect(header(page)).to_contain_text(f"Signed in as {username}")
    expect(review_banner(page)).to_have_count(0)


def test_an_allowed_use_is_withdrawn_from_the_account_page_and_then_refused(page, live_server):
    """GDPR Art. 7(3): withdrawing is as easy as giving. Allow on review, withdraw on /accounts/."""
    username, email = "changer", "changer@example.com"
    register_and_confirm(page, live_server, username, email)
    publish_partner_offers()
    user = get_user_model().objects.get(username=username)

    sign_in(page, username, PASSWORD)
    page.goto("/privacy/review/")
    page.get_by_role("group", name="Partner offers").get_by_role(
        "radio", name="Allow", exact=True
    ).check()
    page.get_by_role("button", name="I have read version 2: save my choices").click()
    assert Choice.objects.allows(user, "partner-offers")

    # The account page shows the answer that counts now, with one button to change it.
    expect(page).to_have_url(f"{live_server.url}/accounts/")
    answers = page.get_by_role("region", name="Your answers about new uses of your data")
    row = answers.locator("tbody tr", has_text="Partner offers")
    expect(row.locator("td").nth(1)).to_have_text("Allow")
    row.get_by_role("button", name="Withdraw consent to Partner offers").click()

    expect(page.locator(".messages")).to_contain_text(
        "Saved: you do not allow “Partner offers”. We have stopped using your data this way."
    )
    expect(row.locator("td").nth(1)).to_have_text("Don't allow")
    expect(row.get_by_role("button", name="Allow Partner offers")).to_be_visible()
    assert not Choice.objects.allows(user, "partner-offers")
    assert list(
        Choice.objects.filter(user=user).order_by("chosen_at").values_list("allowed", "method")
    ) == [(True, "review"), (False, "account")]
