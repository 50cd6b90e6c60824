"""Policy versions: numbering drafts, copying one into a new draft, and publishing."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import get_text_list

from ..caching import document_forget
from ..models import Document, NoticeFanout, PolicyVersion
from ..tasks import create_policy_notices


@transaction.atomic
def version_draft_save(*, version: PolicyVersion, by: AbstractBaseUser | None) -> PolicyVersion:
    """Save a draft, giving a new one the next number of its document."""
    if version.pk is None:
        # Lock the document row so two drafts created at once cannot take the same number.
        Document.objects.select_for_update().get(pk=version.document_id)
        highest = version.document.versions.aggregate(n=Max("number"))["n"] or 0
        version.number = highest + 1
        version.created_by = by
    version.save()
    return version


@transaction.atomic
def version_copy_to_draft(*, source: PolicyVersion, by: AbstractBaseUser | None) -> PolicyVersion:
    """Start a new draft from the text of an existing version."""
    draft = PolicyVersion(
        document=source.document,
        title=source.title,
        body=source.body,
        summary="",
        started_from=source if source.is_published else source.started_from,
    )
    return version_draft_save(version=draft, by=by)


@transaction.atomic
def version_publish(
    *,
    version: PolicyVersion,
    by: AbstractBaseUser | None,
    at: datetime | None = None,
    override_reason: str = "",
    replaces_newer: bool = False,
) -> PolicyVersion:
    """Publish a draft: it becomes part of the public record and takes effect at effective_at.

    Publishing locks the document, so concurrent publishes get distinct numbers and the
    versions' effective times never run backwards. A draft started before the latest version
    was published would undo that version's changes: it needs `replaces_newer`. A material
    version needs POLICY_NOTICE_DAYS of notice, unless someone allowed to records why not;
    publishing it queues one email notice per person once the transaction commits.
    """
    Document.objects.select_for_update().get(pk=version.document_id)
    # Read the clock only once the lock is ours: a publish that waited for another one must
    # not take effect before the version that committed first.
    now = at or timezone.now()
    version.refresh_from_db()
    if version.is_published:
        raise ValidationError("This version is already published.")
    version.clean_for_publishing()
    missed = [str(newer.number) for newer in version.published_since_started()]
    if missed and not replaces_newer:
        # Published as it is, the draft would quietly undo what those versions changed.
        which = f"version{pluralize(missed)} {get_text_list(missed, 'and')}"
        raise ValidationError(
            f"Published as it is, this draft undoes the changes of {which}, which it does not "
            "build on. Tick “Publish it anyway” to do that on purpose, "
            "or start a new draft from the latest version."
        )
    if version.effective_at is None:
        version.effective_at = now
    version.clean_effective_at(allow_past=True)
    if version.is_material:
        _check_notice_period(version=version, by=by, now=now, override_reason=override_reason)
    _number_next_in_public_record(version)
    version.published_at = now
    version.published_by = by
    version.save()
    transaction.on_commit(lambda: document_forget(version.document.slug))
    if version.is_material:
        # Recorded with the publish, so its notices get made even if no worker runs the task.
        NoticeFanout.objects.create(version=version, created_at=now)
        transaction.on_commit(lambda: create_policy_notices.enqueue(version.pk))
    return version


def _number_next_in_public_record(version: PolicyVersion) -> None:
    """Give `version` the next published number, and move the drafts it passes up by one.

    Drafts started before it keep their order and stay numbered after every published version.
    Numbers already published never change (a record from before this rule keeps its gap).
    """
    versions = PolicyVersion.objects.filter(document_id=version.document_id)
    wanted = versions.next_public_number()
    if version.number <= wanted:
        version.number = wanted  # (a draft left below a gap the old rule made)
        return
    passed = versions.drafts().filter(number__gte=wanted, number__lt=version.number)
    highest = versions.aggregate(n=Max("number"))["n"]
    versions.filter(pk=version.pk).update(number=highest + 1)  # out of the way
    # One at a time, from the highest: each moves into the number the one above left free.
    for pk, number in passed.order_by("-number").values_list("pk", "number"):
        versions.filter(pk=pk).update(number=number + 1)
    version.number = wanted


def _check_notice_period(
    *, version: PolicyVersion, by: AbstractBaseUser | None, now: datetime, override_reason: str
) -> None:
    """A material change needs POLICY_NOTICE_DAYS of notice, or a recorded, permitted override."""
    needed = timedelta(days=settings.POLICY_NOTICE_DAYS)
    if version.effective_at - now >= needed:
        return
    if not override_reason.strip():
        earliest = date_format(timezone.localtime(now + needed), "DATETIME_FORMAT")
        raise ValidationError(
            {
                "effective_at": (
                    f"A material change needs {settings.POLICY_NOTICE_DAYS} days' notice: make it "
                    f"take effect on or after {earliest}, or record why it cannot wait."
                )
            }
        )
    if by is not None and not by.has_perm("policy.override_notice_period"):
        raise ValidationError("You are not allowed to shorten the notice period.")
    version.notice_override_reason = override_reason.strip()
    version.notice_overridden_by = by
