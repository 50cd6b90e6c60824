"""The site-wide notice of a policy change: before it takes effect, after it, then gone."""

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_published, make_user

pytestmark = pytest.mark.django_db

PAGES = ["/", "/privacy/", "/accounts/login/"]
CURRENT = reverse("policy:current", args=["privacy"])
COMPARE = reverse("policy:compare", args=["privacy", 1, 2])

PUBLISHED = datetime(2030, 3, 1, 15, 0, tzinfo=UTC)
EFFECTIVE = datetime(2030, 4, 1, 16, 0, tzinfo=UTC)  # noon in New York
WHEN = '<time datetime="2030-04-01T12:00:00-04:00">April 1, 2030</time>'
UPCOMING = f'Our privacy policy changes on {WHEN}: <a href="{COMPARE}">see what changes</a>.'
CHANGED = f'Our privacy policy changed on {WHEN}: <a href="{COMPARE}">see what changed</a>.'


@pytest.fixture
def clock(monkeypatch):
    """Freeze django.utils.timezone.now; call the fixture with a datetime to move the clock."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr("django.utils.timezone.now", lambda: moment)

    return set_to


@pytest.fixture
def scheduled(privacy, clock):
    """Version 2, published on March 1 to take effect on April 1, 2030."""
    clock(PUBLISHED)
    return make_published(
        privacy,
        body="## Plain words\n\nWe keep little.",
        summary="Plainer words.",
        effective_at=EFFECTIVE,
    )


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


@pytest.mark.parametrize("url", PAGES)
def test_every_page_announces_a_scheduled_change_and_links_the_comparison(
    client, scheduled, clock, url
):
    clock(EFFECTIVE - timedelta(days=10))
    html = page(client, url)
    assert UPCOMING in html
    assert "Our privacy policy changed on" not in html


@pytest.mark.parametrize("url", PAGES)
def test_every_page_says_the_policy_changed_once_it_takes_effect(client, scheduled, clock, url):
    clock(EFFECTIVE + timedelta(days=3))
    html = page(client, url)
    assert CHANGED in html
    assert "Our privacy policy changes on" not in html


def test_the_notice_turns_from_upcoming_to_changed_at_the_effective_time(client, scheduled, clock):
    clock(EFFECTIVE - timedelta(seconds=1))
    assert UPCOMING in page(client, "/")
    clock(EFFECTIVE)
    assert CHANGED in page(client, "/")


def test_the_notice_disappears_after_the_changed_notice_period(client, scheduled, clock):
    days = timedelta(days=settings.POLICY_CHANGED_NOTICE_DAYS)
    clock(EFFECTIVE + days)
    assert CHANGED in page(client, "/")
    clock(EFFECTIVE + days + timedelta(seconds=1))
    for url in PAGES:
        html = page(client, url)
        assert "Our privacy policy chang" not in html
        assert 'aria-label="Privacy policy notice"' not in html


@pytest.mark.parametrize("url", PAGES)
def test_with_only_the_seed_version_there_is_no_notice(client, privacy, url):
    html = page(client, url)
    assert "Our privacy policy chang" not in html
    assert 'aria-label="Privacy policy notice"' not in html


def test_signed_in_people_see_the_notice_too(client, scheduled, clock):
    client.force_login(make_user("alice"))
    clock(EFFECTIVE - timedelta(days=1))
    assert UPCOMING in page(client, "/")


def test_publishing_shows_the_notice_at_once_though_the_state_was_cached(
    client, privacy, django_capture_on_commit_callbacks
):
    assert "Our privacy policy chang" not in page(client, "/")  # caches the policy state
    with django_capture_on_commit_callbacks(execute=True):
        version = make_published(privacy, summary="Plainer words.")
    when = timezone.localtime(version.effective_at)
    html = page(client, "/")
    stamp = when.isoformat(timespec="seconds")  # HTML allows at most 3 decimals: none here
    assert f'Our privacy policy changed on <time datetime="{stamp}">' in html
    assert f"{when:%B} {when.day}, {when.year}</time>" in html
    assert f'<a href="{COMPARE}">see what changed</a>' in html


def test_a_scheduled_version_becomes_current_at_its_effective_time(client, scheduled, clock):
    clock(EFFECTIVE - timedelta(seconds=1))
    before = page(client, CURRENT)
    assert "Privacy Policy · Version 1" in before
    assert "Safe Harbor" in before
    clock(EFFECTIVE)  # no publish, no cache clear, no restart: only the clock moved
    after = page(client, CURRENT)
    assert "Privacy Policy · Version 2" in after
    assert "We keep little." in after
    assert "Safe Harbor" not in after


def test_policy_etag_differs_between_the_upcoming_and_changed_phases(client, scheduled, clock):
    clock(EFFECTIVE - timedelta(days=1))
    upcoming = client.get(CURRENT)
    clock(EFFECTIVE + timedelta(days=1))
    changed = client.get(CURRENT, headers={"If-None-Match": upcoming.headers["ETag"]})
    assert changed.status_code == HTTPStatus.OK
    assert changed.headers["ETag"] != upcoming.headers["ETag"]
    assert CHANGED in changed.content.decode()


def test_policy_etag_changes_when_the_notice_ends_though_the_version_does_not(
    client, scheduled, clock
):
    clock(EFFECTIVE + timedelta(days=1))
    changed = client.get(CURRENT)
    assert CHANGED in changed.content.decode()
    clock(EFFECTIVE + timedelta(days=settings.POLICY_CHANGED_NOTICE_DAYS + 1))
    quiet = client.get(CURRENT, headers={"If-None-Match": changed.headers["ETag"]})
    assert quiet.status_code == HTTPStatus.OK
    assert quiet.headers["ETag"] != changed.headers["ETag"]
    assert "Our privacy policy chang" not in quiet.content.decode()


def test_policy_etag_is_stable_within_a_phase(client, scheduled, clock):
    clock(EFFECTIVE - timedelta(days=5))
    etag = client.get(CURRENT).headers["ETag"]
    clock(EFFECTIVE - timedelta(days=4))
    repeat = client.get(CURRENT, headers={"If-None-Match": etag})
    assert repeat.status_code == HTTPStatus.NOT_MODIFIED


LATER = EFFECTIVE + timedelta(days=5)  # version 3 takes effect five days after version 2
LATER_WHEN = '<time datetime="2030-04-06T12:00:00-04:00">April 6, 2030</time>'


@pytest.fixture
def two_scheduled(scheduled, privacy, clock):
    """Version 3, published a day after version 2, to take effect five days after it."""
    clock(PUBLISHED + timedelta(days=1))
    return make_published(privacy, summary="Later words.", effective_at=LATER)


def compare(a: int, b: int) -> str:
    return reverse("policy:compare", args=["privacy", a, b])


def test_with_two_versions_scheduled_the_notice_is_about_the_first_to_take_effect(
    client, two_scheduled, clock
):
    clock(EFFECTIVE - timedelta(days=1))
    signed_out = page(client, "/")
    assert f'changes on {WHEN}: <a href="{compare(1, 2)}">see what changes</a>.' in signed_out
    assert "April 6, 2030" not in signed_out
    client.force_login(make_user("alice"))  # has accepted nothing: must review version 2 first
    signed_in = page(client, "/")
    assert "April 1, 2030</time>" in signed_in
    assert "April 6, 2030" not in signed_in


def test_once_the_first_takes_effect_the_notice_is_about_the_next(client, two_scheduled, clock):
    clock(EFFECTIVE + timedelta(days=1))
    html = page(client, "/")
    assert f'changes on {LATER_WHEN}: <a href="{compare(2, 3)}">see what changes</a>.' in html
    clock(LATER + timedelta(days=1))
    html = page(client, "/")
    assert f'changed on {LATER_WHEN}: <a href="{compare(2, 3)}">see what changed</a>.' in html


def test_the_page_etag_changes_when_the_first_of_two_takes_effect(client, two_scheduled, clock):
    clock(EFFECTIVE - timedelta(days=1))
    first = client.get("/privacy/")
    clock(EFFECTIVE + timedelta(days=1))
    second = client.get("/privacy/", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == HTTPStatus.OK
    assert LATER_WHEN in second.content.decode()
