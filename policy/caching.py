"""Caching for policy pages: ETags that change whenever a page could, and per-document state."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache as memoize
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from .models import PolicyVersion

_SOURCE_DIRS = ("templates", "policy", "accounts", "pamedspa", "static")


@memoize
def release_id() -> str:
    """A digest of the code, templates and static files this process serves.

    Part of every ETag, so a deploy that changes the page's markup invalidates browsers'
    copies even when the policy text is unchanged. Computed once per process.
    """
    digest = hashlib.sha256()
    for folder in _SOURCE_DIRS:
        root = Path(settings.BASE_DIR) / folder
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in {".py", ".html", ".txt", ".css", ".js", ".svg"}:
                digest.update(str(path.relative_to(settings.BASE_DIR)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def version_etag(version: PolicyVersion, *parts: str) -> str:
    """A strong ETag for a page that shows `version`, plus anything else it depends on."""
    key = "|".join([version.sha256, str(version.pk), str(version.number), release_id(), *parts])
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class DocumentState:
    """What every page needs to know about a document's versions, cached between publishes."""

    slug: str
    latest_number: int | None
    latest_effective_at: datetime | None
    previous_number: int | None
    latest_material_number: int | None
    # (number, effective_at) of every published version, newest first
    schedule: tuple[tuple[int, datetime], ...] = ()
    compare_url: str = ""  # what changed in the latest version

    def current_number(self, at: datetime) -> int | None:
        """The number of the newest version in effect at `at` (PolicyVersion's own rule)."""
        return next((number for number, effective in self.schedule if effective <= at), None)

    def next_change(self, at: datetime) -> datetime | None:
        """When the next scheduled version takes effect, if one is scheduled."""
        upcoming = [effective for _, effective in self.schedule if effective > at]
        return min(upcoming) if upcoming else None

    def announcement(self, at: datetime | None = None) -> dict | None:
        """The site-wide notice: a change still to come, or one that came recently."""
        if self.latest_number is None or self.previous_number is None:
            return None
        now = at or timezone.now()
        effective = self.latest_effective_at
        if effective > now:
            phase = "upcoming"
        elif now - effective <= timedelta(days=settings.POLICY_CHANGED_NOTICE_DAYS):
            phase = "changed"
        else:
            return None
        return {"phase": phase, "effective_at": effective, "compare_url": self.compare_url}


def _state_key(slug: str) -> str:
    return f"policy:document-state:{slug}"


def document_state(slug: str) -> DocumentState:
    """The cached state of `slug`; one query on a miss, none on a hit."""
    state = cache.get(_state_key(slug))
    if state is None:
        numbers = list(
            PolicyVersion.objects.filter(document__slug=slug)
            .published()
            .order_by("-number")
            .values("number", "effective_at", "is_material")
        )
        state = DocumentState(
            slug=slug,
            latest_number=numbers[0]["number"] if numbers else None,
            latest_effective_at=numbers[0]["effective_at"] if numbers else None,
            previous_number=numbers[1]["number"] if len(numbers) > 1 else None,
            latest_material_number=next((n["number"] for n in numbers if n["is_material"]), None),
            schedule=tuple((n["number"], n["effective_at"]) for n in numbers),
            compare_url=(
                reverse("policy:compare", args=[slug, numbers[1]["number"], numbers[0]["number"]])
                if len(numbers) > 1
                else ""
            ),
        )
        cache.set(_state_key(slug), state, settings.POLICY_CACHE_SECONDS)
    return state


def current_version(slug: str, at: datetime | None = None) -> PolicyVersion | None:
    """The version of `slug` in effect now, from the cache when it can be; never stale.

    The shared cache holds a small token (which version, until when); each process keeps the
    version object itself, so a hit costs one small cache read, not unpickling the whole text.
    The token is dropped when a publish commits, and it carries the moment the next scheduled
    version takes effect, so a scheduled change shows up on time with no purge.
    """
    now = at or timezone.now()
    token = cache.get(_current_key(slug))
    if token is not None:
        version_pk, changes_at = token
        if changes_at is None or now < changes_at:
            memo = _versions.get(slug)
            if memo is not None and (memo.pk if memo else None) == version_pk:
                return memo
            if version_pk is None:
                return None
    state = document_state(slug)
    number = state.current_number(now)
    version = None
    if number is not None:
        version = (
            PolicyVersion.objects.filter(document__slug=slug, number=number)
            .select_related("document")
            .with_first_published_at()
            .first()
        )
    _versions[slug] = version
    token = (version.pk if version else None, state.next_change(now))
    cache.set(_current_key(slug), token, settings.POLICY_CACHE_SECONDS)
    return version


# This process's copy of each document's current version; the shared token above decides
# whether it may be used. Published versions never change, so a copy is never outdated.
_versions: dict[str, PolicyVersion | None] = {}


def _current_key(slug: str) -> str:
    return f"policy:current:{slug}"


def document_state_forget(slug: str) -> None:
    """Called once a publish commits, so every process sharing the cache sees it at once."""
    cache.delete_many([_state_key(slug), _current_key(slug)])
