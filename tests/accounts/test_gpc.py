"""Global Privacy Control: `Sec-GPC: 1` from a signed-in person's browser turns off every topic
that shares data with partners and answers "Don't allow" to every new use that sells or shares
data, each once, as a ledger record with the method "gpc". `/.well-known/gpc.json` says so.
"""

import json
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import PreferenceChange, Subscription, Topic
from accounts.services.people import preference_set
from policy.models import Choice
from policy.services.ledger import review_submit
from policy.services.versions import version_publish
from tests.factories import make_material_draft

pytestmark = pytest.mark.django_db

GPC = {"HTTP_SEC_GPC": "1"}
PREFERENCES = reverse("account_preferences")


@pytest.fixture
def catalog(privacy):
    """Two topics (one shares with partners) and a version with two uses (one sells data)."""
    news = Topic.objects.create(name="News", slug="news", description="Monthly.")
    partners = Topic.objects.create(
        name="Partner offers", slug="partners", description="Offers.", shares_with_partners=True
    )
    uses = {"Data sale": "We sell it.", "Research": "Anonymous studies."}
    draft = make_material_draft(privacy, days=0, new_uses=uses)
    draft.new_uses.filter(purpose="data-sale").update(shares_data=True)
    version = version_publish(version=draft, by=None, override_reason="test: now")
    return news, partners, version


def opt_in(user, *topics):
    for topic in topics:
        preference_set(user=user, topic=topic, opted_in=True, method="preferences",
                       ip_address=None, user_agent="")  # fmt: skip


def answer(user, version, **answers):
    uses = {use.purpose: use for use in version.new_uses.all()}
    review_submit(user=user, version=version, method="review", ip_address=None, user_agent="",
                  answers={uses[p.replace("_", "-")]: a for p, a in answers.items()})  # fmt: skip


def test_the_signal_turns_off_sharing_and_answers_dont_allow_once(client, alice, catalog):
    news, partners, version = catalog
    opt_in(alice, news, partners)
    answer(alice, version, data_sale=True, research=True)
    client.force_login(alice)

    client.get("/", REMOTE_ADDR="203.0.113.5", HTTP_USER_AGENT="GPCBrowser", **GPC)

    states = dict(Subscription.objects.filter(user=alice).values_list("topic__slug", "opted_in"))
    assert states == {"news": True, "partners": False}
    assert not Choice.objects.allows(alice, "data-sale")
    assert Choice.objects.allows(alice, "research")
    change = PreferenceChange.objects.get(user=alice, method="gpc")
    assert (change.topic, change.opted_in, change.ip_address) == (partners, False, "203.0.113.5")
    choice = Choice.objects.get(user=alice, method="gpc")
    assert (choice.purpose, choice.allowed, choice.user_agent) == ("data-sale", False, "GPCBrowser")

    for _ in range(3):
        client.get("/", **GPC)
        client.get(PREFERENCES, **GPC)
    assert PreferenceChange.objects.filter(method="gpc").count() == 1
    assert Choice.objects.filter(method="gpc").count() == 1


def test_unanswered_and_already_off_items_are_put_on_record_too(client, alice, catalog):
    client.force_login(alice)
    client.get("/", **GPC)
    assert PreferenceChange.objects.filter(user=alice, method="gpc", opted_in=False).count() == 1
    assert Choice.objects.filter(user=alice, method="gpc", allowed=False).count() == 1
    assert not Choice.objects.allows(alice, "data-sale")


def test_a_choice_the_person_makes_afterwards_stands(client, alice, catalog):
    news, partners, version = catalog
    opt_in(alice, partners)
    client.force_login(alice)
    client.get("/", **GPC)

    opt_in(alice, partners)  # they turn it back on themselves, on the preferences page
    client.logout()
    client.force_login(alice)  # a new session looks again
    client.get("/", **GPC)

    assert Subscription.objects.get(user=alice, topic=partners).opted_in


def test_a_new_sharing_topic_is_turned_off_in_the_same_session(client, alice, catalog):
    client.force_login(alice)
    client.get("/", **GPC)
    later = Topic.objects.create(name="Sponsors", slug="sponsors", description=".",
                                 shares_with_partners=True)  # fmt: skip
    opt_in(alice, later)
    from django.core.cache import cache

    cache.delete("gpc:catalog")  # as a minute passing would

    client.get("/", **GPC)

    assert not Subscription.objects.get(user=alice, topic=later).opted_in


def test_without_the_signal_or_signed_out_nothing_happens(client, alice, catalog):
    news, partners, version = catalog
    opt_in(alice, partners)
    client.get("/", **GPC)  # signed out
    client.force_login(alice)
    client.get("/")  # no signal
    client.get("/", HTTP_SEC_GPC="0")
    assert Subscription.objects.get(user=alice, topic=partners).opted_in
    assert not PreferenceChange.objects.filter(method="gpc").exists()


def test_once_honoured_the_signal_costs_no_query(client, alice, catalog):
    client.force_login(alice)
    client.get(PREFERENCES, **GPC)

    def queries(**headers) -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(PREFERENCES, **headers)
        return len(captured)

    assert queries(**GPC) == queries()


def test_the_preferences_page_says_the_signal_was_honoured(client, alice, catalog):
    news, partners, version = catalog
    opt_in(alice, partners)
    client.force_login(alice)

    html = client.get(PREFERENCES, **GPC).content.decode()

    assert "Your browser sends the Global Privacy Control signal" in html
    assert "We honour it." in html
    assert "“Partner offers”: off" in html
    assert "“Data sale”: Don&#x27;t allow" in html or "“Data sale”: Don't allow" in html


def test_gpc_json_says_the_site_honours_the_signal(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/.well-known/gpc.json")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"gpc": True, "lastUpdate": "2026-11-30"}
