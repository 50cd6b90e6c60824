"""Policy version rules: which one is current, numbering, and immutability once published."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from policy.models import PolicyVersion, PublishedVersionError
from policy.rendering import content_hash
from policy.services.versions import version_copy_to_draft, version_publish
from tests.factories import make_draft, make_published, make_user

pytestmark = pytest.mark.django_db


def test_seed_version_is_current(privacy):
    current = privacy.versions.current()
    assert current.number == 1
    assert current.is_current()


def test_current_ignores_future_versions(privacy):
    future = make_published(privacy, effective_at=timezone.now() + timedelta(days=30))
    assert privacy.versions.current().number == 1
    assert not future.is_current()
    assert future.is_scheduled()


def test_future_version_becomes_current_when_its_time_comes(privacy):
    effective = timezone.now() + timedelta(days=30)
    future = make_published(privacy, effective_at=effective)
    assert privacy.versions.current(at=effective - timedelta(seconds=1)).number == 1
    assert privacy.versions.current(at=effective).pk == future.pk
    assert future.is_current(at=effective + timedelta(days=1))


def test_newest_effective_version_wins(privacy):
    now = timezone.now()
    second = make_published(privacy, effective_at=now - timedelta(days=2))
    third = make_published(privacy, effective_at=now - timedelta(days=1))
    assert privacy.versions.current().pk == third.pk
    assert privacy.versions.current(at=now - timedelta(days=1, hours=12)).pk == second.pk


def test_current_is_none_before_anything_takes_effect(privacy):
    first = privacy.versions.get(number=1)
    assert privacy.versions.current(at=first.effective_at - timedelta(seconds=1)) is None


def test_drafts_are_never_current(privacy):
    draft = make_draft(privacy, effective_at=timezone.now() - timedelta(days=1))
    assert privacy.versions.current().number == 1
    assert not draft.is_current()
    assert draft not in privacy.versions.published()


def test_drafts_are_numbered_in_sequence(privacy):
    assert [make_draft(privacy).number for _ in range(3)] == [2, 3, 4]


def test_published_numbers_have_no_gap_whatever_order_drafts_are_published_in(privacy):
    """Visitors see versions 1, 2, 3: a draft published out of turn, or never, leaves no hole."""
    first_draft, second_draft, third_draft = (make_draft(privacy, summary=s) for s in "ABC")
    assert [first_draft.number, second_draft.number, third_draft.number] == [2, 3, 4]
    assert version_publish(version=third_draft, by=None).number == 2

    # The drafts it passed keep their order, after it: a draft's number is provisional.
    def drafts():
        return list(privacy.versions.drafts().order_by("number").values_list("summary", "number"))

    assert drafts() == [("A", 3), ("B", 4)]
    b = privacy.versions.get(summary="B")
    with pytest.raises(
        ValidationError, match="undoes the changes of version 2, which it does not build on"
    ):
        version_publish(version=b, by=None)  # it would undo version 2: only when told so
    assert version_publish(version=b, by=None, replaces_newer=True).number == 3
    assert drafts() == [("A", 4)]
    assert version_publish(version=make_draft(privacy, summary="D"), by=None).number == 4
    assert drafts() == [("A", 5)]  # never published, still after every published one
    assert list(privacy.versions.published().values_list("number", flat=True)) == [4, 3, 2, 1]


def test_a_gap_already_published_stays_as_it_is(privacy):
    """Published numbers are public record: an old gap is not closed by changing them."""
    draft = make_draft(privacy)  # v2
    later = make_draft(privacy)  # v3
    # As the old rule left them: version 3 published while the draft kept number 2.
    now = timezone.now()
    PolicyVersion.objects.filter(pk=later.pk).update(published_at=now, effective_at=now)
    draft.refresh_from_db()
    assert version_publish(version=draft, by=None, replaces_newer=True).number == 4
    assert list(privacy.versions.published().values_list("number", flat=True)) == [4, 3, 1]


def test_publish_stamps_who_and_when(privacy):
    staff = make_user(staff=True)
    version = version_publish(version=make_draft(privacy), by=staff)
    version.refresh_from_db()
    assert version.published_by == staff
    assert version.published_at is not None
    assert version.effective_at == version.published_at


def test_publish_requires_a_summary(privacy):
    draft = make_draft(privacy, summary="  ")
    with pytest.raises(ValidationError) as error:
        version_publish(version=draft, by=None)
    assert "summary" in error.value.message_dict
    draft.refresh_from_db()
    assert draft.published_at is None


def test_publish_refuses_an_effective_time_before_the_current_version(privacy):
    draft = make_draft(
        privacy, effective_at=privacy.versions.get(number=1).effective_at - timedelta(days=1)
    )
    with pytest.raises(ValidationError) as error:
        version_publish(version=draft, by=None)
    assert "effective_at" in error.value.message_dict
    draft.refresh_from_db()
    assert not draft.is_published


def test_publish_refuses_a_published_version(privacy):
    with pytest.raises(ValidationError):
        version_publish(version=privacy.versions.get(number=1), by=None)


def test_published_version_cannot_be_saved(privacy):
    version = privacy.versions.get(number=1)
    version.body = "Rewritten in place."
    with pytest.raises(PublishedVersionError):
        version.save()
    version.refresh_from_db()
    assert "Safe Harbor" in version.body


def test_published_version_fails_clean(privacy):
    version = privacy.versions.get(number=1)
    with pytest.raises(ValidationError):
        version.full_clean()


def test_published_version_cannot_be_deleted(privacy):
    with pytest.raises(PublishedVersionError):
        privacy.versions.get(number=1).delete()
    with pytest.raises(PublishedVersionError):
        PolicyVersion.objects.all().delete()
    assert privacy.versions.filter(number=1).exists()


def test_drafts_can_be_edited_and_deleted(privacy):
    draft = make_draft(privacy, body="First try.")
    draft.body = "Second try."
    draft.save()
    assert draft.sha256 == content_hash(title=draft.title, body="Second try.")
    draft.delete()
    assert not privacy.versions.drafts().exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
def test_database_refuses_to_change_a_published_version(privacy):
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyVersion.objects.filter(number=1).update(body="Changed behind the model's back")
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyVersion.objects.filter(number=1)._raw_delete(connection.alias)
    assert "Safe Harbor" in privacy.versions.get(number=1).body


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
def test_database_lets_a_published_version_lose_its_deleted_author(privacy):
    staff = make_user(staff=True)
    version = make_published(privacy, by=staff)
    staff.delete()
    version.refresh_from_db()
    assert version.published_by is None
    assert version.created_by is None


def test_database_refuses_a_duplicate_number(privacy):
    draft = make_draft(privacy)
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyVersion.objects.filter(pk=draft.pk).update(number=1)


def test_database_refuses_a_published_version_without_effective_time(privacy):
    draft = make_draft(privacy)
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyVersion.objects.filter(pk=draft.pk).update(published_at=timezone.now())


def test_database_refuses_a_published_version_without_a_summary(privacy):
    draft = make_draft(privacy, summary="")
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyVersion.objects.filter(pk=draft.pk).update(published_at=now, effective_at=now)


def test_saving_derives_html_toc_and_hash(privacy):
    draft = make_draft(privacy, body="## Cookies\n\nWe use *few*.\n\n## Cookies\n\nAgain.")
    assert '<h2 id="cookies">Cookies</h2>' in draft.body_html
    assert [h["id"] for h in draft.toc] == ["cookies", "cookies-2"]
    assert draft.sha256 == content_hash(title=draft.title, body=draft.body)


def test_new_draft_copies_the_text_of_a_published_version(privacy):
    source = privacy.versions.get(number=1)
    staff = make_user(staff=True)
    draft = version_copy_to_draft(source=source, by=staff)
    assert draft.number == 2
    assert draft.body == source.body
    assert draft.sha256 == source.sha256
    assert not draft.is_published
    assert draft.created_by == staff
    assert draft.summary == ""


def test_first_published_at_is_the_documents_original_date(privacy):
    make_published(privacy)
    version = privacy.versions.with_first_published_at().get(number=2)
    assert version.first_published_at == privacy.versions.get(number=1).published_at
