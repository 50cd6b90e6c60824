"""Kept pages: what anonymous visitors see of a document, rendered and compressed once.

`shared_when_anonymous` is the one entry point: it decides whether a request may share the
kept page, names the page's key, and asks the `PageStore` to serve it (rendering, compressing
and keeping it on a miss, answering 304 when the client's copy is current).
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
from .snapshots import snapshot_for


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

    def respond(self, request: HttpRequest) -> HttpResponse:
        """The smallest representation the client accepts (whitenoise's rule), or a 304."""
        accept = request.headers.get("accept-encoding", "")
        accept = "" if accept == "*" else accept
        encoded = next(e for e in self.encoded if e.accepted.search(accept))
        if _CONDITIONAL.intersection(request.META):
            not_modified = get_conditional_response(
                request, etag=encoded.etag, last_modified=parse_http_date(self.last_modified)
            )
            if not_modified is not None:
                return not_modified
        response = HttpResponse(encoded.body, content_type=self.content_type)
        if encoded.encoding:
            response.headers["Content-Encoding"] = encoded.encoding
        response.headers["ETag"] = encoded.etag
        response.headers["Last-Modified"] = self.last_modified
        response.headers["Cache-Control"] = "no-cache"  # always revalidate: it is cheap
        # A session cookie can change the page, and the encoding follows the request's.
        response.headers["Vary"] = "Cookie, Accept-Encoding"
        return response


_CONDITIONAL = frozenset(
    ["HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE"]
)


class PageStore:
    """The pages this process keeps, a few per document; the oldest go first."""

    def __init__(self, size: int = 64):
        self.size = size
        self._pages: dict[tuple, SharedPage] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def serve(
        self,
        request: HttpRequest,
        key: tuple,
        render: Callable[[], HttpResponse],
        changed_at: Callable[[], datetime],
    ) -> HttpResponse:
        """The kept page under `key`; on a miss, `render` it and keep it if it is a plain 200."""
        page = self._pages.get(key)
        if page is None:
            response = render()
            if response.status_code != HTTPStatus.OK or response.streaming:
                return response
            page = SharedPage.of(response, changed_at())
            with self._lock:
                while len(self._pages) >= self.size:
                    self._pages.pop(next(iter(self._pages)))  # the oldest
                self._pages[key] = page
        return page.respond(request)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


# This process's store.
pages = PageStore()


@receiver(setting_changed)
def _forget_pages(**kwargs) -> None:
    pages.clear()


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
        snapshot = snapshot_for(request, document)
        if not snapshot.is_shared:  # nothing published: nothing worth keeping
            return view(request, document, **kwargs)
        privacy = snapshot_for(request, PRIVACY)
        announcement = privacy.state.announcement()
        key = (
            snapshot.token,
            privacy.token,
            announcement and announcement["phase"],
            request.scheme,
            request.get_host(),
            request.path,  # these views read no query string
        )

        def changed_at() -> datetime:
            now = timezone.now()
            moments = [snapshot.state.changed_at(now), privacy.state.changed_at(now)]
            return max(filter(None, moments))

        return pages.serve(request, key, lambda: view(request, document, **kwargs), changed_at)

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
