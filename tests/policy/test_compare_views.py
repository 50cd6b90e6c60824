"""Comparison pages: what changed between two published versions, and in one version."""

import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_draft, make_material_draft, make_published

pytestmark = pytest.mark.django_db

OLD_SENTENCE = "we will notify you via email."
NEW_SENTENCE = "we will notify you by email 30 days in advance."
SUMMARY = "We now give 30 days' notice of changes by email."


def compare_url(a: int, b: int) -> str:
    return reverse("policy:compare", args=["privacy", a, b])


def changes_url(number: int) -> str:
    return reverse("policy:changes", args=["privacy", number])


def version_url(number: int) -> str:
    return reverse("policy:version", args=["privacy", number])


@pytest.fixture
def version_2(privacy):
    """Version 2: one sentence of section 6 of the seed reworded, in effect since a minute ago."""
    seed = privacy.versions.get(number=1).body
    return make_published(
        privacy,
        body=seed.replace(OLD_SENTENCE, NEW_SENTENCE),
        summary=SUMMARY,
        effective_at=timezone.now() - timedelta(minutes=1),
    )


def test_compare_page_links_both_versions_and_shows_the_summary(client, version_2):
    response = client.get(compare_url(1, 2))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "What changed from version 1 to version 2" in html
    assert f'<a href="{version_url(1)}">Version 1</a>, effective January 3, 2009' in html
    assert f'<a href="{version_url(2)}">Version 2</a>, effective' in html
    assert "We now give 30 days&#x27; notice of changes by email." in html


def test_compare_page_marks_the_changed_words(client, version_2):
    html = client.get(compare_url(1, 2)).content.decode()
    assert (
        "we will notify you <del>via</del><ins>by</ins> email<ins> 30 days in advance</ins>."
        in html
    )
    assert "5 words added, 1 removed" in html
    assert 'id="change-6-policy-updates"' in html
    # The five untouched sections are only named.
    unchanged = html.split("<h2>Unchanged sections</h2>")[1]
    assert "<li>5. Security</li>" in unchanged
    assert "6. Policy Updates" not in unchanged


def test_compare_page_orders_the_versions_whichever_way_they_are_given(client, version_2):
    html = client.get(compare_url(2, 1)).content.decode()
    assert "What changed from version 1 to version 2" in html
    assert "<del>via</del><ins>by</ins>" in html


def test_changes_page_compares_a_version_with_the_one_before(client, version_2):
    response = client.get(changes_url(2))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "What changed from version 1 to version 2" in html
    assert f'href="{version_url(1)}"' in html
    assert f'href="{version_url(2)}"' in html
    assert SUMMARY.replace("'", "&#x27;") in html
    assert "<del>via</del><ins>by</ins>" in html


def test_changes_page_skips_drafts_to_the_previous_published_version(client, privacy, version_2):
    make_draft(privacy, body=version_2.body + "\n## 7. Draft Only\n\nNot public.\n")  # v3 for now
    version_3 = make_published(
        privacy,
        body=version_2.body + "\n## 7. Your Rights\n\nYou may ask for a copy.\n",
        summary="Added your rights.",
    )
    assert version_3.number == 3  # published next; the draft moved to 4
    html = client.get(changes_url(3)).content.decode()
    assert "What changed from version 2 to version 3" in html
    assert "Not public." not in html
    assert '<h2 id="change-7-your-rights-title"><ins>7. Your Rights</ins>' in html
    assert "<p><ins>You may ask for a copy.</ins></p>" in html
    assert "<del>via</del>" not in html  # the change made in version 2 is not repeated


def test_compare_shows_a_scheduled_version_as_taking_effect(client, privacy):
    seed = privacy.versions.get(number=1).body
    effective = timezone.now() + timedelta(days=40)
    make_published(privacy, body=seed + "\n## 7. Later\n\nLater words.\n", effective_at=effective)
    html = client.get(compare_url(1, 2)).content.decode()
    local = timezone.localtime(effective)
    assert f"takes effect {local:%B} {local.day}, {local.year}</dd>" in html
    assert "<p><ins>Later words.</ins></p>" in html


def test_compare_lists_the_new_uses_a_material_version_asks_about(client, privacy):
    from policy.services.versions import version_publish

    draft = make_material_draft(
        privacy, new_uses={"Partner offers": "Offers from partner clinics."}
    )
    version_publish(version=draft, by=None)
    html = client.get(changes_url(2)).content.decode()
    assert "<strong>material change</strong>" in html
    assert "<li><strong>Partner offers</strong>: Offers from partner clinics.</li>" in html


@pytest.mark.parametrize(
    ("a", "b"),
    [(1, 3), (3, 1), (1, 9), (2, 2), (1, 1)],
    ids=["draft-newer", "draft-older", "unknown", "same-published", "same-seed"],
)
def test_compare_is_404_for_drafts_unknown_numbers_and_a_version_with_itself(
    client, privacy, version_2, a, b
):
    make_draft(privacy)  # version 3
    assert client.get(compare_url(a, b)).status_code == HTTPStatus.NOT_FOUND


def test_changes_is_404_for_the_first_version_a_draft_and_an_unknown_number(
    client, privacy, version_2
):
    make_draft(privacy)  # version 3
    assert client.get(changes_url(2)).status_code == HTTPStatus.OK
    assert client.get(changes_url(1)).status_code == HTTPStatus.NOT_FOUND
    assert client.get(changes_url(3)).status_code == HTTPStatus.NOT_FOUND
    assert client.get(changes_url(9)).status_code == HTTPStatus.NOT_FOUND


def test_compare_is_404_for_another_documents_versions(client, privacy, version_2):
    assert client.get("/terms/versions/1/compare/2/").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/terms/versions/2/changes/").status_code == HTTPStatus.NOT_FOUND


def test_version_page_links_to_what_changed_from_version_2_only(client, version_2):
    link = f'<a href="{changes_url(2)}">what changed</a>'
    assert link in client.get(version_url(2)).content.decode()
    page_1 = client.get(version_url(1)).content.decode()
    assert not re.search(r'<a href="[^"]*">what changed</a>', page_1)
    assert changes_url(1) not in page_1


def test_history_links_to_what_changed_in_version_2(client, version_2):
    html = client.get(reverse("policy:versions", args=["privacy"])).content.decode()
    assert f'<a href="{changes_url(2)}">What changed in version 2</a>' in html
    assert "What changed in version 1" not in html


def test_compare_page_runs_a_fixed_number_of_queries(
    client, version_2, django_assert_max_num_queries
):
    client.get(compare_url(1, 2))  # warm the cached policy state and redline
    # Both versions, the new uses, and the request transaction's savepoint and release.
    with django_assert_max_num_queries(4):
        response = client.get(compare_url(1, 2))
    assert "<del>via</del><ins>by</ins>" in response.content.decode()


def test_changes_page_runs_a_fixed_number_of_queries(
    client, version_2, django_assert_max_num_queries
):
    client.get(changes_url(2))  # warm the cached policy state and redline
    # Each version, the older one's document, the new uses, and the request transaction.
    with django_assert_max_num_queries(6):
        response = client.get(changes_url(2))
    assert "<del>via</del><ins>by</ins>" in response.content.decode()


def test_compare_pages_reject_post(client, version_2):
    assert client.post(compare_url(1, 2)).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert client.post(changes_url(2)).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_one_word_added_is_said_in_the_singular():
    from django.template.loader import render_to_string

    from policy import redline

    comparison = redline.compare("## A\n\nOne two.", "## A\n\nOne two three.")
    assert comparison.words_added == 1
    html = render_to_string("policy/_comparison.html", {"comparison": comparison})
    assert "1 word added, 0 removed" in html
