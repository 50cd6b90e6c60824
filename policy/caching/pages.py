"""Kept pages: what anonymous visitors see of a document, rendered and compressed once.

A `PageStore` keeps each page under a key that names everything it depends on (`page_key`).
It is filled by `shared_when_anonymous`, the decorator of the document views, on a visitor's
first request. Later visitors without a session are answered by `KeptPageMiddleware` before
the session, authentication and URL layers run: the page is the same for all of them, and
the answer carries the same headers as the full stack's (tested).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from http import HTTPStatus

import brotli
from django.conf import settings
from django.contrib import messages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date

from ..models import PRIVACY
from .snapshots import Snapshot, snapshot_for, snapshots


@dataclass(frozen=True)
class Encoded:
    """One representation of a kept page: as rendered, or compressed."""

    body: bytes
    encoding: str  # "" when not compressed
    etag: str  # strong, so each representation has its own
    accepted: re.Pattern  # matches an Accept-Encoding header that allows it


# When this code and these settings started serving (in gunicorn, when the master loaded the
# app). A deploy can change a page's markup without any publish, so a page is never older than
# this: a client that revalidates with If-Modified-Since alone gets the new page, not a 304.
SERVING_SINCE = timezone.now().replace(microsecond=0)

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

    def respond(self, request: HttpRequest) -> HttpResponse:
        """The smallest representation the client accepts (whitenoise's rule), or a 304."""
        accept = request.META.get(_ACCEPT_ENCODING, "")
        accept = "" if accept == "*" else accept
        encoded = next(e for e in self.encoded if e.accepted.search(accept))
        response = HttpResponse(encoded.body, content_type=self.content_type)
        if encoded.encoding:
            response.headers["Content-Encoding"] = encoded.encoding
        response.headers["ETag"] = encoded.etag
        response.headers["Last-Modified"] = self.last_modified
        response.headers["Cache-Control"] = "no-cache"  # always revalidate: it is cheap
        # A session cookie can change the page, and the encoding follows the request's.
        response.headers["Vary"] = "Cookie, Accept-Encoding"
        if any(header in request.META for header in _CONDITIONAL):
            # A 304 keeps the validators, Cache-Control and Vary of the page (RFC 9110 15.4.5).
            response = get_conditional_response(
                request,
                etag=encoded.etag,
                last_modified=parse_http_date(self.last_modified),
                response=response,
            )
        return _as_the_stack_would(response)


def _as_the_stack_would(response: HttpResponse) -> HttpResponse:
    """The headers of the middleware that a kept page answered early skips.

    CommonMiddleware's Content-Length and XFrameOptionsMiddleware's X-Frame-Options: each of
    them leaves a header that is already set alone, so the full stack's answer is the same.
    tests/policy/test_views.py compares both answers header by header.
    """
    response.headers["Content-Length"] = str(len(response.content))
    response.headers["X-Frame-Options"] = settings.X_FRAME_OPTIONS
    return response


# Read from request.META, not request.headers: on this path, building request.headers (a copy
# of every header) would cost more than the rest of serving a kept page.
_ACCEPT_ENCODING = "HTTP_ACCEPT_ENCODING"
_CONDITIONAL = (
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)


def page_key(request: HttpRequest, snapshot: Snapshot, privacy: Snapshot) -> tuple:
    """Everything a kept page depends on besides the code and settings.

    The document's snapshot token and the privacy policy's (whose site-wide notice every page
    shows), the notice's phase, and the address. Tokens are renewed on every publish, every
    POLICY_CACHE_SECONDS and whenever a scheduled version takes effect.
    """
    announcement = privacy.state.announcement()
    return (
        snapshot.token,
        privacy.token,
        announcement and (announcement["phase"], announcement["compare_url"]),
        request.scheme,
        request.get_host(),  # validates the Host header too
        request.path,  # the document views read no query string
    )


class PageStore:
    """The pages this process keeps, a few per document; the oldest go first."""

    def __init__(self, size: int = 64):
        self.size = size
        self._pages: dict[tuple, SharedPage] = {}
        self._documents: dict[str, str] = {}  # the path of each kept page -> its document
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def serve(
        self,
        request: HttpRequest,
        document: str,
        render: Callable[[], HttpResponse],
    ) -> HttpResponse:
        """The page of `document` at this address; rendered and kept on a miss (if a plain 200).

        Reads the document's state through `snapshot_for`, which may query the database.
        """
        snapshot = snapshot_for(request, document)
        if not snapshot.is_shared:  # nothing published: nothing worth keeping
            return render()
        privacy = snapshot_for(request, PRIVACY)
        key = page_key(request, snapshot, privacy)
        page = self._pages.get(key)
        if page is None:
            response = render()
            if response.status_code != HTTPStatus.OK or response.streaming:
                return response
            now = timezone.now()
            changed = max(
                filter(
                    None,
                    [snapshot.state.changed_at(now), privacy.state.changed_at(now), SERVING_SINCE],
                )
            )
            page = SharedPage.of(response, changed)
            with self._lock:
                while len(self._pages) >= self.size:
                    self._pages.pop(next(iter(self._pages)))  # the oldest
                self._pages[key] = page
                if len(self._documents) >= self.size:
                    self._documents.clear()  # only an index: it fills again as pages are kept
                self._documents[request.path] = document
        return page.respond(request)

    def serve_kept(self, request: HttpRequest) -> HttpResponse | None:
        """The kept page at this address if it is still current, or None; never renders.

        Touches no database: a document whose snapshot is stale is left to the full stack.
        """
        document = self._documents.get(request.path)
        if document is None:
            return None
        snapshot = snapshots.peek(document)
        privacy = snapshot if document == PRIVACY else snapshots.peek(PRIVACY)
        if snapshot is None or privacy is None:
            return None
        page = self._pages.get(page_key(request, snapshot, privacy))
        return page.respond(request) if page is not None else None

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._documents.clear()


# This process's store.
pages = PageStore()


@receiver(setting_changed)
def _forget_pages(**kwargs) -> None:
    pages.clear()


def shared_when_anonymous(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Keep the page a document view shows to anonymous visitors, rendered, in this process.

    Such a page depends only on the document's published versions, the privacy policy's
    site-wide notice, the address, and the code and settings: `page_key` names all of them,
    and a settings change clears every page (a deploy starts new processes). The ETag is the
    body's own digest, so it covers everything the page shows. A repeat visit costs one small
    cache read: no query, no template.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, document: str, **kwargs) -> HttpResponse:
        if not is_anonymous_alike(request):
            return view(request, document, **kwargs)
        return pages.serve(request, document, lambda: view(request, document, **kwargs))

    return wrapper


def is_anonymous_alike(request: HttpRequest) -> bool:
    """Whether this visitor sees what everyone anonymous sees.

    Signed-in pages carry per-session details, and a pending message must be shown. Both live
    in the session (messages use session storage), so without a session cookie neither can.
    """
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return True
    # len() does not consume the messages.
    return not request.user.is_authenticated and not len(messages.get_messages(request))
