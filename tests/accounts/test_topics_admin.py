"""Admin of topics (opt-in counts, CSV of the opted-in) and of the read-only preference ledger."""

import csv
import io
import re
from http import HTTPStatus

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import PreferenceChange, Subscription, Topic
from accounts.services.people import preference_set
from tests.factories import make_verified_user
from tests.tables import changelist_rows

pytestmark = pytest.mark.django_db


def topic(slug: str, *, is_active: bool = True, position: int = 0) -> Topic:
    return Topic.objects.create(
        name=slug.replace("-", " ").capitalize(),
        slug=slug,
        description=f"About {slug}.",
        shares_with_partners=slug == "partner-offers",
        is_active=is_active,
        position=position,
    )


def choose(user, topic: Topic, opted_in: bool) -> None:
    preference_set(
        user=user,
        topic=topic,
        opted_in=opted_in,
        method="preferences",
        ip_address="192.0.2.7",
        user_agent="Browser/1.0",
    )


@pytest.fixture
def topics(db):
    """News (alice and bob in, carol in and out again), offers (nobody in), tips (carol in)."""
    news = topic("news", position=1)
    offers = topic("partner-offers", position=2)
    tips = topic("tips", position=3)
    alice, bob, carol = (make_verified_user(name) for name in ("alice", "bob", "carol"))
    for person in (alice, bob, carol):
        choose(person, news, True)
    choose(carol, news, False)
    choose(carol, tips, True)
    return news, offers, tips


@pytest.fixture
def change(db):
    news = topic("news")
    choose(make_verified_user("alice"), news, True)
    return PreferenceChange.objects.get()


def export(admin_client, topics) -> tuple:
    response = admin_client.post(
        reverse("admin:accounts_topic_changelist"),
        {"action": "export_opted_in", "_selected_action": [t.pk for t in topics]},
    )
    assert response.status_code == HTTPStatus.OK
    content = b"".join(response.streaming_content).decode()
    return response, list(csv.reader(io.StringIO(content)))


def test_topics_and_the_preference_ledger_are_in_the_admin():
    assert admin.site.is_registered(Topic)
    assert admin.site.is_registered(PreferenceChange)


def test_the_topic_changelist_counts_who_opted_in(admin_client, topics):
    response = admin_client.get(reverse("admin:accounts_topic_changelist"))
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    counts = re.findall(r'<td class="field-opted_in">(\d+)</td>', page)
    assert counts == ["2", "0", "1"]  # news, partner offers, tips: by position


def test_the_export_lists_the_opted_in_active_people_of_the_selected_topics(admin_client, topics):
    news, offers, tips = topics
    dave = make_verified_user("dave", is_active=False)
    choose(dave, news, True)
    response, rows = export(admin_client, [news, offers])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="opted-in.csv"'
    assert rows[0] == ["topic", "username", "email", "since"]
    assert [row[:3] for row in rows[1:]] == [
        ["news", "alice", "alice@example.com"],
        ["news", "bob", "bob@example.com"],
    ]
    since = Subscription.objects.get(user__username="alice", topic=news).updated_at
    assert rows[1][3] == since.isoformat()


def test_the_export_of_a_topic_nobody_chose_has_only_the_header(admin_client, topics):
    _news, offers, _tips = topics
    _response, rows = export(admin_client, [offers])
    assert rows == [["topic", "username", "email", "since"]]


def test_the_export_covers_each_selected_topic(admin_client, topics):
    news, _offers, tips = topics
    _response, rows = export(admin_client, [tips, news])
    assert [row[:2] for row in rows[1:]] == [["news", "alice"], ["news", "bob"], ["tips", "carol"]]


def test_the_export_changes_nothing(admin_client, topics):
    before = list(Subscription.objects.values_list("pk", "opted_in", "updated_at"))
    ledger = PreferenceChange.objects.count()
    export(admin_client, topics)
    assert list(Subscription.objects.values_list("pk", "opted_in", "updated_at")) == before
    assert PreferenceChange.objects.count() == ledger


def test_the_export_quotes_text_a_spreadsheet_would_run(admin_client):
    news = topic("news")
    for name, email in [("-2+3", "plain@example.com"), ("plain", "=1+2@example.com")]:
        choose(make_verified_user(name, email), news, True)
    _response, rows = export(admin_client, [news])
    cells = [cell for row in rows[1:] for cell in row[1:3]]
    assert "'-2+3" in cells
    assert "'=1+2@example.com" in cells


def test_the_ledger_changelist_lists_each_change(admin_client, topics):
    response = admin_client.get(reverse("admin:accounts_preferencechange_changelist"))
    assert response.status_code == HTTPStatus.OK
    rows = [
        (row["user"], row["topic"], row["opted_in"], row["method"], row["ip_address"])
        for row in changelist_rows(response.content.decode())
    ]
    assert sorted(rows) == [
        ("alice", "News", "True", "on the preferences page", "192.0.2.7"),
        ("bob", "News", "True", "on the preferences page", "192.0.2.7"),
        ("carol", "News", "False", "on the preferences page", "192.0.2.7"),
        ("carol", "News", "True", "on the preferences page", "192.0.2.7"),
        ("carol", "Tips", "True", "on the preferences page", "192.0.2.7"),
    ]


def test_the_ledger_cannot_be_added_to_from_the_admin(admin_client, change):
    url = reverse("admin:accounts_preferencechange_add")
    assert admin_client.get(url).status_code == HTTPStatus.FORBIDDEN
    response = admin_client.post(url, {"topic": change.topic.pk, "opted_in": "on"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert PreferenceChange.objects.count() == 1


def test_a_change_cannot_be_deleted_from_the_admin(admin_client, change):
    url = reverse("admin:accounts_preferencechange_delete", args=[change.pk])
    assert admin_client.get(url).status_code == HTTPStatus.FORBIDDEN
    assert admin_client.post(url, {"post": "yes"}).status_code == HTTPStatus.FORBIDDEN
    admin_client.post(
        reverse("admin:accounts_preferencechange_changelist"),
        {"action": "delete_selected", "_selected_action": [change.pk], "post": "yes"},
    )
    assert PreferenceChange.objects.filter(pk=change.pk).exists()


def test_a_change_is_shown_with_no_editable_field(admin_client, change):
    url = reverse("admin:accounts_preferencechange_change", args=[change.pk])
    response = admin_client.get(url)
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "192.0.2.7" in page
    assert "Browser/1.0" in page
    fields = re.findall(r'<(?:input|select|textarea)[^>]*name="([^"]+)"', page)
    assert set(fields) <= {"csrfmiddlewaretoken"}
    admin_client.post(url, {"opted_in": "", "method": "signup", "ip_address": "198.51.100.1"})
    change.refresh_from_db()
    assert (change.opted_in, change.method, change.ip_address) == (True, "preferences", "192.0.2.7")
