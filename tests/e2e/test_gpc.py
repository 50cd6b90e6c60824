"""Global Privacy Control in a real browser: Chromium sends `Sec-GPC: 1` with every request.

A signed-in person who had opted in to partner offers and allowed a use that sells their data
opens the site; both are turned off once, and their preferences page says the signal was
honoured.
"""

import pytest
from playwright.sync_api import expect

from accounts.models import Subscription, Topic
from accounts.services.people import preference_set
from policy.models import Choice
from policy.services.ledger import review_submit
from policy.services.versions import version_publish
from tests.e2e.helpers import sign_in
from tests.factories import PASSWORD, make_material_draft, make_verified_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_browser_sending_gpc_has_sharing_turned_off_and_is_told_so(new_page, privacy):
    alice = make_verified_user("alice")
    partners = Topic.objects.create(name="Partner offers", slug="partners", description="Offers.",
                                    shares_with_partners=True)  # fmt: skip
    preference_set(user=alice, topic=partners, opted_in=True, method="preferences",
                   ip_address=None, user_agent="")  # fmt: skip
    draft = make_material_draft(privacy, days=0, new_uses={"Data sale": "We sell it."})
    draft.new_uses.update(shares_data=True)
    version = version_publish(version=draft, by=None, override_reason="test: now")
    review_submit(user=alice, version=version, method="review", ip_address=None, user_agent="",
                  answers={version.new_uses.get(): True})  # fmt: skip

    page = new_page(extra_http_headers={"Sec-GPC": "1"})
    page.goto("/accounts/login/")
    sign_in(page, "alice", PASSWORD)
    page.goto("/accounts/preferences/")

    panel = page.get_by_role("region", name="Global Privacy Control")
    expect(panel).to_contain_text("Your browser sends the Global Privacy Control signal")
    expect(panel).to_contain_text("“Partner offers”: off")
    expect(panel).to_contain_text("“Data sale”: Don't allow")
    expect(page.get_by_role("checkbox", name="Partner offers")).not_to_be_checked()
    assert not Subscription.objects.get(user=alice, topic=partners).opted_in
    assert not Choice.objects.allows(alice, "data-sale")
    assert Choice.objects.filter(user=alice, method="gpc").count() == 1
