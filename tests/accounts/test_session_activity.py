"""The record of each signed-in session (the Sessions page) is written when it says something
new: at sign-in, when the IP address or browser changes, and at most once a minute otherwise.
A visitor without a session costs nothing."""

import time

import pytest
from allauth.usersessions.models import UserSession
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.middleware import UserSessionsMiddleware
from tests.factories import login, make_verified_user

pytestmark = pytest.mark.django_db
PAGE = reverse("account_overview")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def last_seen(user):
    return UserSession.objects.get(user=user).last_seen_at


def test_browsing_records_the_session_once_a_minute_not_on_every_page(client, monkeypatch):
    monkeypatch.setattr(UserSessionsMiddleware, "SECONDS", 1)  # "a minute", shortened
    alice = make_verified_user("alice")
    login(client)
    assert UserSession.objects.filter(user=alice).count() == 1  # recorded at sign-in
    first = last_seen(alice)
    for _ in range(3):
        assert client.get(PAGE).status_code == 200
    seen = last_seen(alice)
    assert first < seen  # the first page after sign-in records it, the next ones do not
    client.get(PAGE)
    assert last_seen(alice) == seen
    time.sleep(1.1)
    client.get(PAGE)
    assert last_seen(alice) > seen  # once the minute is over, written again


def test_a_new_ip_address_or_browser_is_recorded_at_once(client):
    alice = make_verified_user("alice")
    login(client)
    client.get(PAGE)
    client.get(PAGE, REMOTE_ADDR="203.0.113.9")
    assert UserSession.objects.get(user=alice).ip == "203.0.113.9"
    client.get(PAGE, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Other browser/2.0")
    assert UserSession.objects.get(user=alice).user_agent == "Other browser/2.0"


def test_a_visitors_pages_write_no_session_record_and_run_no_query(
    privacy, django_assert_num_queries
):
    make_verified_user("alice")
    visitor = Client()
    visitor.get(reverse("account_login"))  # the first request keeps the policy's state
    with django_assert_num_queries(0):
        assert visitor.get(reverse("account_login")).status_code == 200
    assert not UserSession.objects.exists()
