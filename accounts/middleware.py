"""Account middleware: a mail server failure becomes a clear page instead of a 500, with nothing
left half-made; a browser's Global Privacy Control signal is honoured for signed-in people; and
each signed-in session's record is written when it says something new."""

import hashlib
import logging

from allauth.account.adapter import get_adapter
from allauth.usersessions.middleware import (
    UserSessionsMiddleware as AllauthUserSessionsMiddleware,
)
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .adapters import EmailDeliveryFailed
from .services.gpc import gpc_catalog_stamp, gpc_honour

logger = logging.getLogger(__name__)


class EmailDeliveryFailedMiddleware:
    """When a view could not hand its email to the mail server, say so and ask to retry.

    The view's transaction (the project's AtomicWritesMiddleware) is marked for rollback before
    this runs, so whatever the view wrote (a new account, an email address) is undone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, EmailDeliveryFailed):
            return None
        logger.error("mail delivery failed on %s: %s", request.path, exception)
        if not request.user.is_authenticated and hasattr(request, "session"):
            # Drop any half-finished signup or login state that pointed at rolled-back rows.
            request.session.flush()
        response = TemplateResponse(request, "account/email_delivery_failed.html", status=503)
        response.headers["Retry-After"] = "60"
        return response


class GlobalPrivacyControlMiddleware:
    """Honour `Sec-GPC: 1` for signed-in people: once per session, and again when the topics or
    new uses change (accounts.services.gpc says what it turns off and why only once)."""

    SESSION_KEY = "gpc_honoured"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.headers.get("sec-gpc", "").strip() == "1"
            and request.method in {"GET", "HEAD"}
            and request.user.is_authenticated
        ):
            stamp = gpc_catalog_stamp()
            if request.session.get(self.SESSION_KEY) != stamp:
                adapter = get_adapter(request)
                gpc_honour(
                    user=request.user,
                    ip_address=adapter.get_client_ip(request),
                    user_agent=adapter.get_http_user_agent(request),
                )
                request.session[self.SESSION_KEY] = stamp
        return self.get_response(request)


class UserSessionsMiddleware(AllauthUserSessionsMiddleware):
    """allauth's record of each signed-in session (the "Sessions" page), written when it says
    something new rather than on every request.

    allauth upserts the session's row, last seen time, IP address and browser included, on
    every request of a signed-in person, and loads every visitor's user to find out they are
    anonymous. Here a request without a session loads nothing, and a session is recorded again
    only once its IP address or browser changes, or a minute after it was last recorded.
    allauth records a session when someone signs in, either way.
    """

    SECONDS = 60

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is None or not session.session_key or not self._due(request, session):
            return self.get_response(request)
        return super().__call__(request)

    def _due(self, request: HttpRequest, session) -> bool:
        seen = "\0".join(
            (
                session.session_key,
                get_adapter(request).get_client_ip(request) or "",
                request.headers.get("User-Agent", ""),
            )
        )
        key = "usersession-seen:" + hashlib.sha256(seen.encode()).hexdigest()
        # add() is atomic: of concurrent requests, one records, the others see it done.
        return cache.add(key, True, self.SECONDS)
