"""Caching for policy pages: ETags that change whenever a page could, and per-document state."""

import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache as memoize
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from .models import Document, PolicyVersion

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


def _load_state(slug: str) -> DocumentState:
    """The state of `slug`, read from the database (one query)."""
    numbers = list(
        PolicyVersion.objects.filter(document__slug=slug)
        .published()
        .order_by("-number")
        .values("number", "effective_at", "is_material")
    )
    return DocumentState(
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


@dataclass(frozen=True)
class Snapshot:
    """One process's copy of a document's state and current version, and the token it matches."""

    token: tuple  # (stamp, current version's pk, when the next scheduled version takes effect)
    state: DocumentState
    version: PolicyVersion | None

    def is_current_at(self, at: datetime) -> bool:
        """Whether `version` is still the one in effect at `at`."""
        _, _, changes_at = self.token
        started = self.version.effective_at if self.version else None
        return (started is None or started <= at) and (changes_at is None or at < changes_at)


def document_snapshot(slug: str, at: datetime | None = None) -> Snapshot:
    """The state and current version of `slug`: one small shared-cache read when warm.

    The shared cache holds a token per document, dropped when a publish commits and renewed
    every POLICY_CACHE_SECONDS. Each process keeps the objects the token describes, so a hit
    unpickles a few bytes, not the policy. The token carries the moment the next scheduled
    version takes effect, so a scheduled change shows up on time with no purge.
    """
    now = at or timezone.now()
    token = cache.get(_token_key(slug))
    memo = _snapshots.get(slug)
    if token is not None and memo is not None and memo.token == token and memo.is_current_at(now):
        return memo
    state = _load_state(slug)
    number = state.current_number(now)
    version = None
    if number is not None:
        version = (
            PolicyVersion.objects.filter(document__slug=slug, number=number)
            .select_related("document")
            .with_first_published_at()
            .first()
        )
    described = (version.pk if version else None, state.next_change(now))
    if at is not None:  # a question about another moment: answer it, share nothing
        return Snapshot((None, *described), state, version)
    if token is None or token[1:] != described:
        # A new stamp, so every other process that shares the cache reloads its own copy.
        token = (uuid.uuid4().hex, *described)
        cache.set(_token_key(slug), token, settings.POLICY_CACHE_SECONDS)
    _snapshots[slug] = Snapshot(token, state, version)
    return _snapshots[slug]


def document_state(slug: str) -> DocumentState:
    """What every page needs to know about `slug`'s versions."""
    return document_snapshot(slug).state


def current_version(slug: str, at: datetime | None = None) -> PolicyVersion | None:
    """The version of `slug` in effect at `at` (default: now); never stale."""
    return document_snapshot(slug, at).version


# This process's copy of each document's state; the shared token decides whether it may be used.
_snapshots: dict[str, Snapshot] = {}


def _token_key(slug: str) -> str:
    return f"policy:snapshot:{slug}"


def document_state_forget(slug: str) -> None:
    """Called once a publish commits, so every process sharing the cache sees it at once."""
    cache.delete(_token_key(slug))


@receiver(post_save, sender=Document)
def _document_saved(sender, instance: Document, **kwargs) -> None:
    # Pages show the document's title: every process drops its copy once the change commits.
    transaction.on_commit(lambda: document_state_forget(instance.slug))


@dataclass(frozen=True)
class SharedPage:
    """A rendered page that every anonymous visitor sees alike, with its validators."""

    etag: str
    last_modified: str  # an HTTP date
    body: bytes


def shared_page(key: tuple, build: Callable[[], SharedPage]) -> SharedPage:
    """The page kept under `key` by this process, built on first use.

    `key` must name everything the page shows. Keys hold snapshot tokens, which are renewed
    on every publish and every POLICY_CACHE_SECONDS, so a page kept here is also rebuilt that
    often: that bounds anything no key can name, such as the date.
    """
    page = _pages.get(key)
    if page is None:
        page = build()
        with _pages_lock:
            while len(_pages) >= _PAGES_KEPT:
                _pages.pop(next(iter(_pages)))  # the oldest
            _pages[key] = page
    return page


# A few pages per document: one per host and notice phase, and the last tokens'.
_pages: dict[tuple, SharedPage] = {}
_pages_lock = threading.Lock()
_PAGES_KEPT = 32


@receiver(setting_changed)
def _forget_pages(**kwargs) -> None:
    _pages.clear()
