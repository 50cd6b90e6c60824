"""Public policy pages: the current version, the history and each version's permalink."""

import gzip
import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import brotli
import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date

from policy.caching import SnapshotStore, pages, snapshots
from policy.caching.pages import SERVING_SINCE
from tests.factories import (
    SEED_SECTION_HEADINGS,
    login,
    make_draft,
    make_published,
    make_user,
    make_verified_user,
)
from tests.tables import cell_text

pytestmark = pytest.mark.django_db

CURRENT = reverse("policy:current", kwargs={"document": "privacy"})
HISTORY = reverse("policy:versions", kwargs={"document": "privacy"})


def version_url(number: int) -> str:
    return reverse("policy:version", kwargs={"document": "privacy", "number": number})


def test_policy_page_shows_the_seed_policy(client):
    html = client.get(CURRENT).content.decode()
    assert "Safe Harbor" in html
    for heading in SEED_SECTION_HEADINGS:
        assert f">{heading}</h2>" in html
        assert f">{heading}</a></li>" in html  # table of contents
    assert "October 23, 2006" in html
    assert "January 3, 2009" in html
    assert f'<a href="{HISTORY}">all versions</a>' in html  # the footer links it on every page


def test_toc_links_point_at_heading_ids(client):
    html = client.get(CURRENT).content.decode()
    toc_targets = re.findall(r'class="toc__item toc__item--2"><a href="#([^"]+)"', html)
    assert len(toc_targets) == 6
    for target in toc_targets:
        assert f'<h2 id="{target}">' in html


def test_policy_page_dates_come_from_the_database(client, privacy):
    # Published today, in effect since May 6, 2024: the page must say when it took effect.
    make_published(privacy, effective_at=datetime(2024, 5, 6, 16, 0, tzinfo=UTC))
    html = client.get(CURRENT).content.decode()
    facts = {
        cell_text(name): cell_text(value)
        for name, value in re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", html, flags=re.S)
    }
    assert facts["Date"] == "October 23, 2006"  # the original date stays
    assert facts["Last revised"] == "May 6, 2024"
    assert facts["Version"].startswith("2 ·")
    assert "January 3, 2009" not in html


def test_anonymous_policy_page_runs_at_most_two_queries(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = client.get(CURRENT)
    assert response.status_code == HTTPStatus.OK


def test_policy_page_sends_validators_and_answers_304(client):
    response = client.get(CURRENT)
    assert response.headers["ETag"]
    # Not the policy's 2009 date: the code serving it is newer, and may have changed the page.
    assert response.headers["Last-Modified"] == http_date(SERVING_SINCE.timestamp())
    repeat = client.get(CURRENT, headers={"If-None-Match": response.headers["ETag"]})
    assert repeat.status_code == HTTPStatus.NOT_MODIFIED
    assert repeat.content == b""
    since = client.get(CURRENT, headers={"If-Modified-Since": response.headers["Last-Modified"]})
    assert since.status_code == HTTPStatus.NOT_MODIFIED


def test_a_page_revalidated_by_date_alone_is_new_after_a_deploy(client):
    """A client that kept the page from before this code started serving gets it again."""
    before_the_deploy = http_date((SERVING_SINCE - timedelta(seconds=1)).timestamp())
    response = client.get(CURRENT, headers={"If-Modified-Since": before_the_deploy})
    assert response.status_code == HTTPStatus.OK
    assert b"Privacy" in response.content


def test_304_needs_at_most_two_queries(client, django_assert_max_num_queries):
    etag = client.get(CURRENT).headers["ETag"]
    with django_assert_max_num_queries(2):
        response = client.get(CURRENT, headers={"If-None-Match": etag})
    assert response.status_code == HTTPStatus.NOT_MODIFIED


def test_etag_changes_when_a_new_version_takes_effect(client, privacy):
    etag = client.get(CURRENT).headers["ETag"]
    make_published(privacy)
    response = client.get(CURRENT, headers={"If-None-Match": etag})
    assert response.status_code == HTTPStatus.OK
    assert response.headers["ETag"] != etag


def test_signed_in_page_is_not_revalidated_and_shows_the_user(client):
    user = make_user("alice")
    client.force_login(user)
    response = client.get(CURRENT)
    assert "ETag" not in response.headers
    html = response.content.decode()
    assert "alice" in html
    assert f'action="{reverse("account_logout")}"' in html
    assert "Log out" in html


def test_history_lists_published_versions_with_dates_and_summaries(client, privacy):
    make_published(privacy, summary="Added a cookie table.")
    make_draft(privacy, summary="Secret draft.")
    html = client.get(HISTORY).content.decode()
    assert "Added a cookie table." in html
    assert "Secret draft." not in html
    assert f'href="{version_url(1)}"' in html
    assert f'href="{version_url(2)}"' in html
    assert f'href="{version_url(3)}"' not in html
    assert "January 3, 2009" in html


def test_history_runs_a_fixed_number_of_queries(client, privacy, django_assert_max_num_queries):
    for _ in range(5):
        make_published(privacy)
    client.get(HISTORY)  # warm the cached policy state, as on a live site
    with django_assert_max_num_queries(3):
        response = client.get(HISTORY)
    assert response.content.decode().count('class="versions__item"') == 6


def test_version_page_marks_a_version_that_is_not_current(client, privacy):
    make_published(privacy)
    html = client.get(version_url(1)).content.decode()
    assert "This is not the current policy." in html
    assert f'<a href="{CURRENT}">Read the current policy (version 2)</a>' in html
    assert "not the current policy" not in client.get(version_url(2)).content.decode()


def test_version_page_announces_a_scheduled_version(client, privacy):
    make_published(privacy, effective_at=timezone.now() + timedelta(days=30))
    html = client.get(version_url(2)).content.decode()
    assert "Upcoming version." in html
    assert "Privacy Policy · Version 1" in client.get(CURRENT).content.decode()


def test_version_page_runs_at_most_two_queries(client, django_assert_max_num_queries):
    client.get(version_url(1))  # warm the cached policy state, as on a live site
    with django_assert_max_num_queries(2):
        response = client.get(version_url(1))
    assert response.status_code == HTTPStatus.OK


def test_drafts_are_404_to_the_public(client, privacy):
    draft = make_draft(privacy)
    assert client.get(version_url(draft.number)).status_code == HTTPStatus.NOT_FOUND
    client.force_login(make_user("bob"))
    assert client.get(version_url(draft.number)).status_code == HTTPStatus.NOT_FOUND


def test_staff_preview_a_draft_under_a_banner(admin_client, privacy):
    draft = make_draft(privacy, body="## Fresh\n\nDraft words.")
    response = admin_client.get(version_url(draft.number))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Draft preview." in html
    assert "Draft words." in html


def test_unknown_version_and_document_are_404(client):
    assert client.get(version_url(99)).status_code == HTTPStatus.NOT_FOUND
    assert client.get("/terms/").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/terms/versions/").status_code == HTTPStatus.NOT_FOUND


def test_another_document_is_served_under_its_own_slug(client):
    from policy.models import Document

    terms = Document.objects.create(slug="terms", title="Terms of Use")
    make_published(terms, body="## Use\n\nBe kind.")
    html = client.get("/terms/").content.decode()
    assert "Be kind." in html
    assert "Safe Harbor" not in html


def test_policy_pages_reject_post(client):
    assert client.post(CURRENT).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_home_page_links_to_the_policy_and_accounts(client, django_assert_max_num_queries):
    client.get(reverse("home"))  # warm the cached policy state, as on a live site
    with django_assert_max_num_queries(0):
        html = client.get(reverse("home")).content.decode()
    main = html.split("<main")[1].split("</main>")[0]  # not the header's or footer's links
    assert f'<a href="{CURRENT}">Read our privacy policy</a>' in main
    assert f'<a href="{reverse("account_signup")}">Create an account</a>' in main


@pytest.mark.parametrize(
    ("label", "url"),
    [
        ("Login", "/accounts/login/"),
        ("Forgot Password?", "/accounts/password/reset/"),
        ("Username?", "/accounts/username/"),
        ("Register", "/accounts/signup/"),
    ],
)
def test_header_links_for_visitors(client, label, url):
    assert f'<a href="{url}">{label}</a>' in client.get(CURRENT).content.decode()


def test_footer_links_to_the_policy(client):
    footer = client.get(reverse("home")).content.decode().split('class="site-footer"')[1]
    assert f'href="{CURRENT}"' in footer


@pytest.mark.parametrize("url", ["/", CURRENT, HISTORY, version_url(1), "/missing/page/"])
def test_pages_carry_no_inline_script_or_style(client, url):
    html = client.get(url).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_pages_send_a_strict_content_security_policy(client):
    csp = client.get(CURRENT).headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in csp


def test_pages_send_security_headers(client):
    headers = client.get(CURRENT).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_not_found_page_wears_the_site_design(client):
    response = client.get("/no/such/page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    html = response.content.decode()
    assert "Page not found" in html
    assert 'class="site-header"' in html


def test_a_warm_anonymous_policy_page_runs_no_query(client, django_assert_num_queries):
    client.get(CURRENT)  # fills the cache, as the first visitor after a publish does
    with django_assert_num_queries(0):
        response = client.get(CURRENT)
    assert response.status_code == HTTPStatus.OK
    assert "Safe Harbor" in response.content.decode()


def test_a_304_runs_no_query_once_warm(client, django_assert_num_queries):
    etag = client.get(CURRENT).headers["ETag"]
    with django_assert_num_queries(0):
        response = client.get(CURRENT, headers={"If-None-Match": etag})
    assert response.status_code == HTTPStatus.NOT_MODIFIED


def test_the_cached_page_turns_to_a_scheduled_version_on_time(client, privacy, monkeypatch):
    effective = timezone.now() + timedelta(hours=1)
    make_published(privacy, body="## Later\n\nScheduled words.", effective_at=effective)
    assert "Scheduled words." not in client.get(CURRENT).content.decode()  # cached now
    monkeypatch.setattr(timezone, "now", lambda: effective + timedelta(seconds=1))
    assert "Scheduled words." in client.get(CURRENT).content.decode()  # no purge needed


def test_publishing_replaces_the_cached_version_at_once(client, privacy):
    client.get(CURRENT)
    make_published(privacy, body="## New\n\nFresh words.")
    assert "Fresh words." in client.get(CURRENT).content.decode()


def test_a_second_scheduled_version_leaves_the_notice_on_the_first(client, privacy):
    first = timezone.now() + timedelta(days=40)
    make_published(privacy, effective_at=first)
    before = client.get(CURRENT)
    second = first + timedelta(days=10)
    make_published(privacy, effective_at=second)
    after = client.get(CURRENT)
    for response in (before, after):  # the next change is still the first one
        html = response.content.decode()
        assert timezone.localtime(first).strftime("%B %-d, %Y") in html
        assert timezone.localtime(second).strftime("%B %-d, %Y") not in html


SHARED_PAGES = [
    CURRENT,
    HISTORY,
    version_url(1),
    version_url(2),
    reverse("policy:compare", args=["privacy", 1, 2]),
    reverse("policy:changes", args=["privacy", 2]),
]


@pytest.fixture
def two_versions(privacy):
    make_published(privacy, body="## New\n\nSecond words.", summary="The second version.")


FEEDS = [
    reverse("policy:feed", args=["privacy"]),
    reverse("policy:versions_json", args=["privacy"]),
]


@pytest.mark.parametrize("url", SHARED_PAGES + FEEDS)
def test_a_kept_page_is_served_without_query_or_template(
    client, two_versions, url, django_assert_num_queries
):
    first = client.get(url)
    assert first.templates or url in FEEDS  # the first visit renders the page's templates
    with django_assert_num_queries(0):
        again = client.get(url)
    assert again.templates == []
    assert again.content == first.content
    assert again.headers["ETag"] == first.headers["ETag"]
    with django_assert_num_queries(0):
        assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("url", SHARED_PAGES)
def test_publishing_renews_every_kept_page(client, two_versions, url, privacy):
    before = client.get(url)
    make_published(privacy, body="## Third\n\nThird words.", summary="The third version.")
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == HTTPStatus.OK
    # Every page carries the site-wide notice, which now points at what version 3 changed.
    assert reverse("policy:compare", args=["privacy", 2, 3]) in after.content.decode()


def test_a_visitor_without_a_session_gets_the_kept_page_before_the_session_layer(client):
    first = client.get(CURRENT)  # rendered through the whole stack, then kept
    assert hasattr(first.wsgi_request, "session")

    again = client.get(CURRENT)

    assert not hasattr(again.wsgi_request, "session")  # answered by KeptPageMiddleware
    assert again.content == first.content
    assert dict(again.headers) == dict(first.headers)  # every header, security ones included


@pytest.mark.parametrize("accept", ["br, gzip", "identity"])
def test_the_early_answer_and_the_full_stacks_carry_the_same_headers(client, settings, accept):
    """Early (no session cookie) and through the view (a session cookie, still anonymous)."""
    client.get(CURRENT)
    early = client.get(CURRENT, headers={"Accept-Encoding": accept})
    etag = early.headers["ETag"]
    early_304 = client.get(CURRENT, headers={"Accept-Encoding": accept, "If-None-Match": etag})
    client.cookies[settings.SESSION_COOKIE_NAME] = "not-a-session"
    full = client.get(CURRENT, headers={"Accept-Encoding": accept})
    full_304 = client.get(CURRENT, headers={"Accept-Encoding": accept, "If-None-Match": etag})

    assert not hasattr(early.wsgi_request, "session")
    assert hasattr(full.wsgi_request, "session")
    assert (early.status_code, early_304.status_code) == (HTTPStatus.OK, HTTPStatus.NOT_MODIFIED)
    assert early.content == full.content
    assert dict(early.headers) == dict(full.headers)
    assert dict(early_304.headers) == dict(full_304.headers)
    assert early.headers["X-Frame-Options"] == "DENY"
    assert int(early.headers["Content-Length"]) == len(early.content)


def test_only_reads_are_answered_early(client):
    client.get(CURRENT)
    assert client.head(CURRENT).status_code == HTTPStatus.OK
    response = client.post(CURRENT)
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert hasattr(response.wsgi_request, "session")


def test_a_stale_kept_page_goes_through_the_whole_stack(client, privacy):
    client.get(CURRENT)
    make_published(privacy, body="## New\n\nFresh words.")
    response = client.get(CURRENT)
    assert hasattr(response.wsgi_request, "session")  # the token changed: rendered again
    assert "Fresh words." in response.content.decode()
    assert not hasattr(client.get(CURRENT).wsgi_request, "session")  # and kept again


def test_an_unknown_host_is_refused_on_the_early_path_too(client):
    client.get(CURRENT)
    response = client.get(CURRENT, headers={"host": "evil.example"})
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_a_made_up_document_keeps_nothing(client):
    client.get(CURRENT)
    kept = len(pages), len(snapshots)
    assert kept >= (1, 1)
    for slug in ("nosuch", "another"):
        assert client.get(f"/{slug}/versions/").status_code == HTTPStatus.NOT_FOUND
        assert snapshots.shared_token(slug) is None
    assert (len(pages), len(snapshots)) == kept


def test_a_request_resolves_each_document_once(client, monkeypatch):
    """Decorator, view and context processor share one snapshot per document per request."""
    asked = []
    resolve = SnapshotStore.get
    monkeypatch.setattr(
        SnapshotStore,
        "get",
        lambda store, slug, at=None: asked.append(slug) or resolve(store, slug, at),
    )
    client.get(CURRENT)  # cold: rendered, and the banner's context asks too
    assert asked == ["privacy"]


def test_pages_name_their_own_absolute_canonical_url(client):
    assert (
        '<link rel="canonical" href="http://testserver/privacy/">'
        in client.get(CURRENT).content.decode()
    )
    html = client.get(version_url(1)).content.decode()
    assert '<link rel="canonical" href="http://testserver/privacy/versions/1/">' in html


def test_signed_in_visitors_get_their_own_page_not_the_shared_one(client):
    client.get(CURRENT)  # the shared anonymous page is kept now
    make_verified_user()
    login(client)
    html = client.get(CURRENT).content.decode()
    assert "Signed in as <strong>alice</strong>" in html


def test_a_pending_message_shows_on_the_policy_page_though_it_is_kept(client):
    client.get(CURRENT)
    make_verified_user()
    login(client)
    client.post(reverse("account_logout"))  # leaves "You have signed out." in the session
    html = client.get(CURRENT).content.decode()
    assert "You have signed out." in html
    assert "You have signed out." not in client.get(CURRENT).content.decode()  # shown once


def test_renaming_the_document_shows_at_once(client, privacy, django_capture_on_commit_callbacks):
    before = client.get(CURRENT)
    with django_capture_on_commit_callbacks(execute=True):
        privacy.title = "Privacy Notice"
        privacy.save()
    after = client.get(CURRENT, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == HTTPStatus.OK
    assert '<p class="eyebrow">Privacy Notice · Version 1</p>' in after.content.decode()


def test_a_token_another_process_renewed_is_adopted_not_replaced(client, django_assert_num_queries):
    client.get(CURRENT)
    mine = snapshots.shared_token("privacy")
    another_process = SnapshotStore()  # its own copies, the same shared cache
    another_process.forget("privacy")
    another_process.get("privacy")
    renewed = snapshots.shared_token("privacy")
    assert renewed is not None and renewed != mine
    with django_assert_num_queries(2):  # this process reloads what the token describes
        assert client.get(CURRENT).status_code == HTTPStatus.OK
    assert snapshots.shared_token("privacy") == renewed  # and does not make the others reload
    with django_assert_num_queries(0):
        client.get(CURRENT)


def test_a_publish_in_another_process_shows_at_once(client, privacy):
    """Another process's store sees this process's publish on its next request."""
    another_process = SnapshotStore()
    assert another_process.get("privacy").version.number == 1
    make_published(privacy, body="## New\n\nFresh words.")
    assert another_process.get("privacy").version.number == 2


def test_a_settings_change_drops_the_kept_pages(client, settings):
    assert "<title>Privacy Policy · New Image MedSpa" in client.get(CURRENT).content.decode()
    settings.SITE_NAME = "Renamed MedSpa"
    assert "<title>Privacy Policy · Renamed MedSpa" in client.get(CURRENT).content.decode()


@pytest.mark.parametrize(
    ("accept", "encoding", "decompress"),
    [
        ("gzip, deflate, br", "br", brotli.decompress),
        ("gzip, deflate", "gzip", gzip.decompress),
        ("identity", None, bytes),
        ("*", None, bytes),
    ],
)
def test_kept_pages_are_compressed_for_clients_that_accept_it(client, accept, encoding, decompress):
    plain = client.get(CURRENT)
    response = client.get(CURRENT, headers={"Accept-Encoding": accept})
    assert response.headers.get("Content-Encoding") == encoding
    assert decompress(response.content) == plain.content
    assert response.headers["Vary"] == "Cookie, Accept-Encoding"
    if encoding:
        assert len(response.content) < len(plain.content) / 2
        assert response.headers["ETag"] != plain.headers["ETag"]  # another representation


def test_each_encoding_revalidates_against_its_own_etag(client):
    br = {"Accept-Encoding": "br"}
    etag = client.get(CURRENT, headers=br).headers["ETag"]
    assert client.get(CURRENT, headers={**br, "If-None-Match": etag}).status_code == 304
    plain_etag = client.get(CURRENT).headers["ETag"]
    assert client.get(CURRENT, headers={**br, "If-None-Match": plain_etag}).status_code == 200


def test_personal_pages_are_never_compressed(client):
    """A signed-in page carries a CSRF token: compressing it would invite BREACH."""
    make_verified_user()
    login(client)
    response = client.get(CURRENT, headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in response.headers
    assert "csrfmiddlewaretoken" in response.content.decode()
