"""Write workflows for policy versions: numbering drafts, copying and publishing."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.formats import date_format

from .models import Acceptance, Document, PolicyVersion


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
        document=source.document, title=source.title, body=source.body, summary=""
    )
    return version_draft_save(version=draft, by=by)


@transaction.atomic
def version_publish(
    *, version: PolicyVersion, by: AbstractBaseUser | None, at: datetime | None = None
) -> PolicyVersion:
    """Publish a draft: it becomes part of the public record and takes effect at effective_at.

    Publishing locks the document, so concurrent publishes get distinct numbers and the
    versions' effective times never run backwards.
    """
    now = at or timezone.now()
    Document.objects.select_for_update().get(pk=version.document_id)
    version.refresh_from_db()
    if version.is_published:
        raise ValidationError("This version is already published.")
    if not version.summary.strip():
        raise ValidationError({"summary": "Write a summary of the changes before publishing."})
    if version.effective_at is None:
        version.effective_at = now
    published = PolicyVersion.objects.filter(document_id=version.document_id).published()
    latest = published.order_by("-number").first()
    if latest is not None and version.effective_at < latest.effective_at:
        raise ValidationError(
            {
                "effective_at": (
                    f"Version {latest.number} takes effect on "
                    f"{date_format(timezone.localtime(latest.effective_at), 'DATETIME_FORMAT')}; "
                    "a newer version cannot take effect before it."
                )
            }
        )
    if latest is not None and latest.number > version.number:
        # A later draft was published first: keep numbers in publication order.
        highest = PolicyVersion.objects.filter(document_id=version.document_id).aggregate(
            n=Max("number")
        )["n"]
        version.number = highest + 1
    version.published_at = now
    version.published_by = by
    version.save()
    return version


def acceptance_record(
    *,
    user: AbstractBaseUser,
    version: PolicyVersion,
    method: str,
    ip_address: str | None,
    user_agent: str,
) -> Acceptance:
    """Record that `user` accepted exactly this version's text."""
    return Acceptance.objects.create(
        user=user,
        version=version,
        version_sha256=version.sha256,
        method=method,
        ip_address=ip_address,
        user_agent=user_agent[:512],
    )
