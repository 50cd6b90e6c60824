"""Each document's state and current version, shared through a small token in the cache.

The shared cache holds one `Token` per document: a stamp, the current version, and when the
next scheduled version takes effect. A publish (or a rename of the document) drops the token
when it commits. Each process keeps its own `Snapshot` of what the token describes, so a warm
request reads a few bytes from the cache and unpickles no policy text. A request asks for a
document's snapshot once, however many layers need it (`snapshot_for`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.cache.backends.base import BaseCache
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from ..models import Document, PolicyVersion

# How long a token lives in a cache that is not shared at the moment (see SnapshotStore).
DEGRADED_SECONDS = 5


class Token(NamedTuple):
    """What the shared cache holds for a document, and what a process's snapshot must match."""

    stamp: str | None  # None: answered for one question only, kept and shared nowhere
    version_pk: int | None  # the version in effect when the token was made
    changes_at: datetime | None  # when the next scheduled version takes effect


@dataclass(frozen=True)
class DocumentState:
    """What every page needs to know about a document's published versions."""

    slug: str
    latest_published_at: datetime | None = None
    # (number, effective_at) of every published version, newest first
    schedule: tuple[tuple[int, datetime], ...] = ()

    @classmethod
    def load(cls, slug: str) -> DocumentState:
        """The state of `slug`, read from the database (one query)."""
        rows = list(
            PolicyVersion.objects.filter(document__slug=slug)
            .published()
            .order_by("-number")
            .values("number", "effective_at", "published_at")
        )
        return cls(
            slug=slug,
            latest_published_at=max((r["published_at"] for r in rows), default=None),
            schedule=tuple((r["number"], r["effective_at"]) for r in rows),
        )

    def changed_at(self, at: datetime) -> datetime | None:
        """The last moment by `at` when a page about the document could have changed.

        A publish, a version taking effect, or the end of a changed-policy notice.
        """
        notice = timedelta(days=settings.POLICY_CHANGED_NOTICE_DAYS)
        moments = [effective for _, effective in self.schedule]
        moments += [effective + notice for _, effective in self.schedule[:-1]]  # announcement()
        moments.append(self.latest_published_at)
        return max((m for m in moments if m is not None and m <= at), default=None)

    def next_change(self, at: datetime) -> datetime | None:
        """When the next scheduled version takes effect, if one is scheduled."""
        upcoming = [effective for _, effective in self.schedule if effective > at]
        return min(upcoming) if upcoming else None

    def announcement(self, at: datetime | None = None) -> dict | None:
        """The site-wide notice: the next change to come, or the one that came recently.

        With several versions scheduled, the notice is about the first of them to take
        effect, compared with the version in effect now. Once none is to come, it is about the
        version in effect, compared with the one before it, for POLICY_CHANGED_NOTICE_DAYS.
        """
        now = at or timezone.now()
        in_effect = [(n, e) for n, e in self.schedule if e <= now]
        current = max(in_effect, default=None)  # the newest number in effect
        if current is None:
            return None
        upcoming = [(e, n) for n, e in self.schedule if n > current[0] and e > now]
        if upcoming:
            effective, number = min(upcoming)
            return self._notice("upcoming", effective, current[0], number)
        earlier = [n for n, _ in self.schedule if n < current[0]]
        notice = timedelta(days=settings.POLICY_CHANGED_NOTICE_DAYS)
        if earlier and now - current[1] <= notice:
            return self._notice("changed", current[1], max(earlier), current[0])
        return None

    def _notice(self, phase: str, effective: datetime, old: int, new: int) -> dict:
        compare = reverse("policy:compare", args=[self.slug, old, new])
        return {"phase": phase, "effective_at": effective, "compare_url": compare}


@dataclass(frozen=True)
class Snapshot:
    """A document's state and current version, and the token they match."""

    token: Token
    state: DocumentState
    version: PolicyVersion | None

    @property
    def is_shared(self) -> bool:
        """Whether this snapshot stands for every process (pages may be kept under it)."""
        return self.token.stamp is not None

    def is_current_at(self, at: datetime) -> bool:
        """Whether `version` is still the one in effect at `at`."""
        started = self.version.effective_at if self.version else None
        changes_at = self.token.changes_at
        return (started is None or started <= at) and (changes_at is None or at < changes_at)


class SnapshotStore:
    """One process's snapshots, each used only while the shared token still matches it."""

    def __init__(self, cache: BaseCache = default_cache):
        self.cache = cache
        self._kept: dict[str, Snapshot] = {}

    def __len__(self) -> int:
        """How many documents this process keeps a snapshot of."""
        return len(self._kept)

    def get(self, slug: str, at: datetime | None = None) -> Snapshot:
        """The state and current version of `slug` at `at` (default: now); never stale.

        Warm, this is one small read of the shared cache. A question about another moment, or
        about a document with nothing published (perhaps a slug someone made up), is
        answered but kept and shared nowhere.
        """
        now = at or timezone.now()
        shared = self.cache.get(self._key(slug))  # a plain tuple: cheap to compare
        kept = self._kept.get(slug)
        if kept is not None and shared == kept.token and kept.is_current_at(now):
            return kept
        token = Token(*shared) if shared is not None else None
        state = DocumentState.load(slug)
        version = (
            PolicyVersion.objects.filter(document__slug=slug)
            .select_related("document")
            .with_first_published_at()
            .current(now)
        )
        described = Token(None, version.pk if version else None, state.next_change(now))
        if at is not None or not state.schedule:
            return Snapshot(described, state, version)
        if token is None or token._replace(stamp=None) != described:
            # A new stamp, so every other process that shares the cache reloads its own copy.
            token = described._replace(stamp=uuid.uuid4().hex)
            self.cache.set(self._key(slug), tuple(token), self._seconds())
        # A token another process made for the same state is adopted, not replaced.
        self._kept[slug] = Snapshot(token, state, version)
        return self._kept[slug]

    def peek(self, slug: str) -> Snapshot | None:
        """This process's snapshot of `slug` if it is still current, without ever loading one."""
        kept = self._kept.get(slug)
        if kept is None or self.cache.get(self._key(slug)) != kept.token:
            return None
        return kept if kept.is_current_at(timezone.now()) else None

    def shared_token(self, slug: str) -> Token | None:
        """The token the shared cache holds for `slug`, if any."""
        value = self.cache.get(self._key(slug))
        return Token(*value) if value is not None else None

    def forget(self, slug: str) -> None:
        """Drop `slug`'s shared token, so every process that shares the cache reloads."""
        self.cache.delete(self._key(slug))

    def _seconds(self) -> int:
        """How long a token lives: seconds only while the cache stands in for a shared one.

        A cache that has lost its server (pamedspa.cache's failover) keeps tokens in each
        process, where another process's publish cannot drop them.
        """
        if getattr(self.cache, "degraded", False):
            return min(settings.POLICY_CACHE_SECONDS, DEGRADED_SECONDS)
        return settings.POLICY_CACHE_SECONDS

    @staticmethod
    def _key(slug: str) -> str:
        return f"policy:snapshot:{slug}"


# This process's store.
snapshots = SnapshotStore()


def snapshot_for(request: HttpRequest, slug: str) -> Snapshot:
    """`slug`'s snapshot, resolved once per request however many layers ask."""
    memo = request.__dict__.setdefault("policy_snapshots", {})
    if slug not in memo:
        memo[slug] = snapshots.get(slug)
    return memo[slug]


def current_version(slug: str, at: datetime | None = None) -> PolicyVersion | None:
    """The version of `slug` in effect at `at` (default: now); never stale."""
    return snapshots.get(slug, at).version


def document_forget(slug: str) -> None:
    """Called once a publish commits, so every process sharing the cache sees it at once."""
    snapshots.forget(slug)


@receiver(post_save, sender=Document)
def _document_saved(sender, instance: Document, **kwargs) -> None:
    # Pages show the document's title: every process drops its copy once the change commits.
    transaction.on_commit(lambda: document_forget(instance.slug))
