"""Machine-readable policy history: the Atom feed, versions.json and the policy page's meta tags."""

import html
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from policy.services.versions import version_publish
from tests.factories import make_draft, make_material_draft, make_published

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
FEED = reverse("policy:feed", args=["privacy"])
JSON = reverse("policy:versions_json", args=["privacy"])
CURRENT = reverse("policy:current", args=["privacy"])
SEED_SUMMARY = (
    "The privacy policy of www.pamedspa.biz as first published on October 23, 2006 and "
    "last revised on January 3, 2009."
)


@pytest.fixture
def versions(privacy):
    """The seed, a published version 2 with a summary, and an unpublished draft 3."""
    version_2 = make_published(
        privacy,
        body="## Plain words\n\nWe keep little.",
        summary='Rewrote the policy in plain "everyday" words & shortened it.',
        effective_at=datetime(2024, 5, 6, 16, 0, tzinfo=UTC),  # noon in New York
    )
    draft = make_draft(privacy, summary="A secret draft summary.")
    return privacy.versions.get(number=1), version_2, draft


def feed_entries(client) -> list[ET.Element]:
    response = client.get(FEED)
    assert response.status_code == HTTPStatus.OK
    return ET.fromstring(response.content).findall(f"{ATOM}entry")


def meta(page: str, name: str) -> str:
    """The content of the page's <meta name=`name`>, unescaped."""
    found = re.findall(rf'<meta name="{re.escape(name)}" content="([^"]*)">', page)
    assert len(found) == 1, f"{name}: {found}"
    return html.unescape(found[0])


def test_feed_is_atom(client, privacy):
    response = client.get(FEED)
    assert "application/atom+xml" in response.headers["Content-Type"]
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == "New Image MedSpa: Privacy Policy versions"


def test_feed_lists_each_published_version_newest_first_with_its_summary(client, versions):
    seed, version_2, _draft = versions
    entries = feed_entries(client)
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "Version 2, effective May 6, 2024",
        "Version 1, effective January 3, 2009",
    ]
    # The summary is carried as HTML (type="html"), so a reader decodes it once more; it says
    # first whether the change is material.
    summaries = [e.findtext(f"{ATOM}summary") for e in entries]
    assert summaries == [
        f"<p><strong>Minor change.</strong></p><p>{html.escape(version_2.summary)}</p>",
        f"<p><strong>The first version.</strong></p><p>{SEED_SUMMARY}</p>",
    ]
    assert [e.find(f"{ATOM}category").get("term") for e in entries] == [
        "minor change",
        "first version",
    ]
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"urn:sha256:{version_2.sha256}",
        f"urn:sha256:{seed.sha256}",
    ]
    # Each entry links to what changed: the comparison with the version before it.
    assert [e.find(f"{ATOM}link").get("href") for e in entries] == [
        "http://testserver/privacy/versions/1/compare/2/",
        "http://testserver/privacy/versions/1/",
    ]


def test_feed_leaves_out_drafts(client, versions):
    body = client.get(FEED).content.decode()
    assert "A secret draft summary." not in body
    assert "/privacy/versions/3/" not in body
    assert len(feed_entries(client)) == 2


def test_feed_dates_versions_by_publication_and_effective_time(client, versions):
    entry = feed_entries(client)[-1]  # the seed
    assert entry.findtext(f"{ATOM}published") == "2006-10-23T04:00:00+00:00"
    assert entry.findtext(f"{ATOM}updated") == "2009-01-03T05:00:00+00:00"


def test_a_scheduled_version_is_never_updated_in_the_future(client, privacy):
    from datetime import timedelta

    from django.utils import timezone

    version = version_publish(version=make_material_draft(privacy, days=31), by=None)
    entry = feed_entries(client)[0]
    updated = datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))
    assert updated <= timezone.now() + timedelta(seconds=1)
    assert updated == version.published_at  # the publication, not the effective date


def test_feed_titles_give_the_effective_date_in_the_sites_time_zone(client, privacy):
    # 02:00 UTC on New Year's Day is still December 31 in New York, as every page says.
    make_published(privacy, effective_at=datetime(2030, 1, 1, 2, 0, tzinfo=UTC))
    assert "December 31, 2029" in client.get(reverse("policy:versions", args=["privacy"])).text
    assert feed_entries(client)[0].findtext(f"{ATOM}title") == (
        "Version 2, effective December 31, 2029"
    )


def test_feed_summary_is_html_escaped_text(client, privacy):
    make_published(privacy, summary="Removed the <tracking> pixels.")
    summary = feed_entries(client)[0].find(f"{ATOM}summary")
    assert summary.get("type") == "html"
    # A feed reader renders this as HTML, so the literal "<tracking>" must arrive escaped.
    assert summary.text.endswith("<p>Removed the &lt;tracking&gt; pixels.</p>")


def test_feed_says_which_entries_are_material_and_has_an_author(client, privacy):
    version_publish(version=make_material_draft(privacy), by=None)
    root = ET.fromstring(client.get(FEED).content)
    assert root.find(f"{ATOM}author").findtext(f"{ATOM}name") == "New Image MedSpa"
    material = root.findall(f"{ATOM}entry")[0]
    assert material.find(f"{ATOM}category").get("term") == "material change"
    assert material.findtext(f"{ATOM}summary").startswith(
        "<p><strong>Material change: people are told by email"
    )


def test_feed_costs_the_same_queries_however_many_versions(client, privacy):
    def queries() -> int:
        cache.clear()  # a cold feed: what a publish costs the first reader
        with CaptureQueriesContext(connection) as captured:
            client.get(FEED)
        return len(captured)

    one = queries()
    for n in range(3):
        make_published(privacy, summary=f"Change {n}.")
    assert queries() == one


def test_unknown_document_has_no_feed(client):
    assert client.get("/terms/feed/").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/terms/versions.json").status_code == HTTPStatus.NOT_FOUND


def test_json_gives_each_published_version_with_absolute_url(client, versions):
    seed, version_2, _draft = versions
    response = client.get(JSON)
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Content-Type"] == "application/json"
    data = response.json()
    assert (data["document"], data["title"]) == ("privacy", "Privacy Policy")
    assert data["versions"] == [
        {
            "number": 2,
            "effective_at": "2024-05-06T16:00:00+00:00",
            "published_at": version_2.published_at.isoformat(),
            "sha256": version_2.sha256,
            "material": False,
            "summary": 'Rewrote the policy in plain "everyday" words & shortened it.',
            "url": "http://testserver/privacy/versions/2/",
        },
        {
            "number": 1,
            "effective_at": "2009-01-03T05:00:00+00:00",
            "published_at": "2006-10-23T04:00:00+00:00",
            "sha256": seed.sha256,
            "material": False,
            "summary": SEED_SUMMARY,
            "url": "http://testserver/privacy/versions/1/",
        },
    ]


def test_json_flags_a_material_version(client, privacy):
    version_publish(version=make_material_draft(privacy), by=None)
    versions = client.get(JSON).json()["versions"]
    assert [(v["number"], v["material"]) for v in versions] == [(2, True), (1, False)]


def test_json_sha256_matches_the_published_text(client, privacy):
    from policy.rendering import content_hash

    seed = privacy.versions.get(number=1)
    entry = client.get(JSON).json()["versions"][0]
    assert entry["sha256"] == content_hash(title=seed.title, body=seed.body)


def test_policy_page_carries_meta_tags_of_the_current_version(client, versions):
    _seed, version_2, _draft = versions
    page = client.get(CURRENT).content.decode()
    assert meta(page, "policy:version") == "2"
    assert meta(page, "policy:effective") == "2024-05-06T12:00:00-04:00"
    assert meta(page, "policy:sha256") == version_2.sha256
    assert meta(page, "policy:summary") == version_2.summary
    assert meta(page, "policy:history") == "/privacy/versions/"


def test_policy_meta_summary_is_escaped_inside_the_attribute(client, versions):
    page = client.get(CURRENT).content.decode()
    assert (
        '<meta name="policy:summary" content="Rewrote the policy in plain &quot;everyday&quot; '
        'words &amp; shortened it.">'
    ) in page


def test_seed_policy_page_carries_its_own_meta_tags(client, privacy):
    seed = privacy.versions.get(number=1)
    page = client.get(CURRENT).content.decode()
    assert meta(page, "policy:version") == "1"
    assert meta(page, "policy:effective") == "2009-01-03T00:00:00-05:00"
    assert meta(page, "policy:sha256") == seed.sha256
    assert meta(page, "policy:summary") == SEED_SUMMARY


def test_policy_page_links_the_feed_and_the_json(client, privacy):
    page = client.get(CURRENT).content.decode()
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Privacy Policy versions" '
        f'href="{FEED}">'
    ) in page
    assert (
        '<link rel="alternate" type="application/json" title="Privacy Policy versions (JSON)" '
        f'href="{JSON}">'
    ) in page
