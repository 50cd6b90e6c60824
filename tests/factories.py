"""Small factories for test data."""

from datetime import datetime

from django.contrib.auth import get_user_model

from policy.models import Document, PolicyVersion
from policy.services import version_draft_save, version_publish


def make_user(username: str = "staff", *, staff: bool = False, **extra):
    user_model = get_user_model()
    return user_model.objects.create_user(
        username=username,
        email=f"{username}@example.com",
        password="correct horse battery staple",
        is_staff=staff,
        **extra,
    )


def make_draft(
    document: Document,
    *,
    body: str = "## Section\n\nNew text.",
    summary: str = "Clarified a section.",
    effective_at: datetime | None = None,
    by=None,
) -> PolicyVersion:
    version = PolicyVersion(
        document=document,
        title=document.title,
        body=body,
        summary=summary,
        effective_at=effective_at,
    )
    return version_draft_save(version=version, by=by)


def make_published(document: Document, *, at: datetime | None = None, **kwargs) -> PolicyVersion:
    return version_publish(version=make_draft(document, **kwargs), by=kwargs.get("by"), at=at)
