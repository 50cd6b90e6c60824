"""Answer a visitor without a session from the kept policy pages, before the session layer."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .caching import pages


class KeptPageMiddleware:
    """A page every anonymous visitor sees alike needs no session, user, CSRF or URL lookup.

    Placed just before SessionMiddleware. It answers only GET and HEAD requests that carry no
    session cookie, and only with a page that is kept and still current; everything else (a
    first visit, a stale page, a signed-in person) goes through the whole stack as before.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method in {"GET", "HEAD"}
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
        ):
            kept = pages.serve_kept(request)
            if kept is not None:
                return kept
        return self.get_response(request)
