"""Caching for policy pages: each document's state shared through the cache, and kept pages."""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from http import HTTPStatus

import brotli
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date

from .models import Document, PolicyVersion

PRIVACY = "privacy"  # the document whose site-wide notice every page shows


@dataclass(frozen=True)
class DocumentState:
    """What every page needs to know about a document's versions, cached between publishes."""

    slug: str
    latest_number: int | None
    latest_effective_at: datetime | None
    previous_number: int | None
    latest_material_number: int | None
    latest_published_at: datetime | None = None
    # (number, effective_at) of every published version, newest first
    schedule: tuple[tuple[int, datetime], ...] = ()
    compare_url: str = ""  # what changed in the latest version

    def changed_at(self, at: datetime) -> datetime | None:
        """The last moment by `at` when a page about the document could have changed.

        A publish, a version taking effect, or the end of the changed-policy notice.
        """
        moments = [effective for _, effective in self.schedule]
        moments.append(self.latest_published_at)
        if self.previous_number is not None:  # see announcement()
            notice = timedelta(days=settings.POLICY_CHANGED_NOTICE_DAYS)
            moments.append(self.latest_effective_at + notice)
        return max((m for m in moments if m is not None and m <= at), default=None)

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
        .values("number", "effective_at", "is_material", "published_at")
    )
    return DocumentState(
        slug=slug,
        latest_number=numbers[0]["number"] if numbers else None,
        latest_effective_at=numbers[0]["effective_at"] if numbers else None,
        previous_number=numbers[1]["number"] if len(numbers) > 1 else None,
        latest_material_number=next((n["number"] for n in numbers if n["is_material"]), None),
        latest_published_at=max((n["published_at"] for n in numbers), default=None),
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
    if at is not None or not state.schedule:
        # A question about another moment, or a document with nothing published (perhaps a
        # slug someone made up): answer it, but keep and share nothing.
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
class Encoded:
    """One representation of a kept page: as rendered, or compressed."""

    body: bytes
    encoding: str  # "" when not compressed
    etag: str  # strong, so each representation has its own
    accepted: re.Pattern  # matches an Accept-Encoding header that allows it


# Compressed once, when a page is kept. Brotli's quality 6 costs about 2 ms for a policy page
# and is within a few per cent of its slowest setting, which costs ten times as much.
_ENCODERS = {
    "br": lambda body: brotli.compress(body, quality=6),
    "gzip": lambda body: gzip.compress(body, mtime=0),
}


@dataclass(frozen=True)
class SharedPage:
    """A rendered page that every anonymous visitor sees alike, with its validators.

    It holds no secret (no CSRF token, nothing from a session), so compressing it cannot leak
    one the way BREACH reads secrets out of compressed pages.
    """

    encoded: tuple[Encoded, ...]  # smallest first; the uncompressed one accepts anything
    content_type: str
    last_modified: str  # an HTTP date

    @classmethod
    def of(cls, response: HttpResponse, last_modified: datetime) -> SharedPage:
        body = response.content
        digest = hashlib.sha256(body).hexdigest()[:32]
        encoded = [Encoded(body, "", f'"{digest}"', re.compile(""))]
        for name, compress in _ENCODERS.items():
            compressed = compress(body)
            if len(compressed) < len(body):
                pattern = re.compile(rf"\b{name}\b")
                encoded.append(Encoded(compressed, name, f'"{digest}-{name}"', pattern))
        return cls(
            encoded=tuple(sorted(encoded, key=lambda e: len(e.body))),
            content_type=response["Content-Type"],
            last_modified=http_date(last_modified.timestamp()),
        )

    def for_request(self, request: HttpRequest) -> Encoded:
        """The smallest representation the client accepts (whitenoise's rule for static files)."""
        accept = request.META.get("HTTP_ACCEPT_ENCODING", "")
        accept = "" if accept == "*" else accept
        return next(e for e in self.encoded if e.accepted.search(accept))

    def response(self, encoded: Encoded) -> HttpResponse:
        response = HttpResponse(encoded.body, content_type=self.content_type)
        if encoded.encoding:
            response.headers["Content-Encoding"] = encoded.encoding
        response.headers["ETag"] = encoded.etag
        response.headers["Last-Modified"] = self.last_modified
        response.headers["Cache-Control"] = "no-cache"  # always revalidate: it is cheap
        # A session cookie can change the page, and the encoding follows the request's.
        response.headers["Vary"] = "Cookie, Accept-Encoding"
        return response


def shared_when_anonymous(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Keep the page a document view shows to anonymous visitors, rendered, in this process.

    Such a page depends only on the document's published versions, the privacy policy's
    site-wide notice, the address, and the code and settings. The key names all of them: the
    snapshot tokens are renewed on every publish, every POLICY_CACHE_SECONDS and whenever a
    scheduled version takes effect, and a settings change clears every page (a deploy starts
    new processes). The ETag is the body's own digest, so it covers everything the page shows.
    A repeat visit costs one small cache read: no query, no template.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, document: str, **kwargs) -> HttpResponse:
        if not _is_anonymous_alike(request):
            return view(request, document, **kwargs)
        snapshot = document_snapshot(document)
        if snapshot.token[0] is None:  # nothing published: nothing worth keeping
            return view(request, document, **kwargs)
        privacy = snapshot if document == PRIVACY else document_snapshot(PRIVACY)
        announcement = privacy.state.announcement()
        key = (
            snapshot.token,
            privacy.token,
            announcement and announcement["phase"],
            request.scheme,
            request.get_host(),
            request.path,  # these views read no query string
        )
        page = _pages.get(key)
        if page is None:
            response = view(request, document, **kwargs)
            if response.status_code != HTTPStatus.OK or response.streaming:
                return response
            now = timezone.now()
            changed = max(
                filter(None, [snapshot.state.changed_at(now), privacy.state.changed_at(now)])
            )
            page = SharedPage.of(response, changed)
            _keep(key, page)
        encoded = page.for_request(request)
        if _CONDITIONAL.intersection(request.META):
            not_modified = get_conditional_response(
                request, etag=encoded.etag, last_modified=parse_http_date(page.last_modified)
            )
            if not_modified is not None:
                return not_modified
        return page.response(encoded)

    return wrapper


def _is_anonymous_alike(request: HttpRequest) -> bool:
    """Whether this visitor sees what everyone anonymous sees.

    Signed-in pages carry per-session details, and a pending message must be shown. Both live
    in the session (messages use session storage), so without a session cookie neither can.
    """
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return True
    # len() does not consume the messages.
    return not request.user.is_authenticated and not len(messages.get_messages(request))


_CONDITIONAL = frozenset(
    ["HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE"]
)


def _keep(key: tuple, page: SharedPage) -> None:
    with _pages_lock:
        while len(_pages) >= _PAGES_KEPT:
            _pages.pop(next(iter(_pages)))  # the oldest
        _pages[key] = page


# A few pages per document (one per address, notice phase and token); the oldest go first.
_pages: dict[tuple, SharedPage] = {}
_pages_lock = threading.Lock()
_PAGES_KEPT = 64


@receiver(setting_changed)
def _forget_pages(**kwargs) -> None:
    _pages.clear()
