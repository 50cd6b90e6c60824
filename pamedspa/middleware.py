"""Request hygiene: refuse bodies too big to be a form of this site, and form bodies that are
not UTF-8, instead of reading the first or silently mangling the second; one transaction for
each request that writes; pages made for one visitor kept out of every cache; and the
Content-Security-Policy header, built once."""

import codecs
from io import BytesIO
from urllib.parse import parse_qsl

from csp.constants import HEADER
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.handlers.wsgi import LimitedStream
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers

FORM = "application/x-www-form-urlencoded"


class RequestBodyMiddleware:
    """Request bodies the site can read: no bigger than it could want, and forms in UTF-8.

    - **Size:** a body bigger than the site could want gets 413 at once, unread. Django's
      DATA_UPLOAD_MAX_MEMORY_SIZE does not count a multipart body's file parts, which stream to
      disk, and gunicorn has no body limit, so without this a 10 MB post to any form is read in
      full. Public pages take small forms (REQUEST_BODY_MAX_BYTES); the admin takes files staff
      attach (ADMIN_REQUEST_BODY_MAX_BYTES). nginx's client_max_body_size says the same sooner.
    - **Chunked:** a body sent in chunks (no Content-Length) is read here up to the limit and no
      further, and handed on with its length: Django reads a body only by its Content-Length,
      so it would otherwise see an empty form.
    - **UTF-8:** a urlencoded form body that is not UTF-8 (raw or percent-encoded), or that
      declares another charset, gets 400, not "\\ufffd" or a 500: Django would replace the bad
      bytes and let forms see altered text. Multipart bodies are left to Django: their file
      parts are binary by nature.

    A request without a body (nearly every request) passes at once.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Read from META, not request.headers: building the headers mapping would cost every
        # request more than this whole check.
        meta = request.META
        if not meta.get("CONTENT_LENGTH") and "HTTP_TRANSFER_ENCODING" not in meta:
            return self.get_response(request)
        refused = self._refused(request)
        return refused if refused is not None else self.get_response(request)

    def _refused(self, request: HttpRequest) -> HttpResponse | None:
        try:
            declared = int(request.headers.get("content-length") or 0)
        except ValueError:
            return HttpResponseBadRequest(render_to_string("400.html"))
        admin = request.path_info.startswith("/admin/")
        cap = settings.ADMIN_REQUEST_BODY_MAX_BYTES if admin else settings.REQUEST_BODY_MAX_BYTES
        if declared > cap:
            return self._too_large(cap)
        if not declared and "chunked" in request.headers.get("transfer-encoding", "").lower():
            body = request.META["wsgi.input"].read(cap + 1)  # the server undoes the chunking
            if len(body) > cap:
                return self._too_large(cap)
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(BytesIO(body), len(body))
        if request.method == "POST" and request.content_type == FORM:
            if request.encoding and codecs.lookup(request.encoding).name != "utf-8":
                # Django refuses it too, but from request.POST, which its CSRF check and every
                # error page's CSRF check read again: a bare 500. "UTF8" is UTF-8 all the same.
                return HttpResponseBadRequest(render_to_string("400.html"))
            if request.encoding:
                request.encoding = "utf-8"  # the name Django accepts
            try:
                # request.body honours DATA_UPLOAD_MAX_MEMORY_SIZE (too big: 400 as well).
                parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, errors="strict")
            except UnicodeDecodeError:
                return HttpResponseBadRequest(render_to_string("400.html"))
        return None

    @staticmethod
    def _too_large(cap: int) -> HttpResponse:
        response = HttpResponse(render_to_string("413.html", {"limit_kb": cap // 1024}), status=413)
        response.headers["Connection"] = "close"  # the unread body must not be parsed next
        return response


class PersonalPagesMiddleware:
    """A page made for one visitor is stored by no cache, the browser's included.

    That is a page with a form (it carries the visitor's CSRF token: password reset, username
    reminder, privacy requests) or one for a signed-in person. Such a page gets the headers
    allauth's login page has (`never_cache`), unless its view chose its own Cache-Control, as
    the policy pages do to be revalidated.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response and _is_personal(request):
            add_never_cache_headers(response)
        return response


def _is_personal(request: HttpRequest) -> bool:
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):  # the page used the CSRF token
        return True
    session = getattr(request, "session", None)
    return session is not None and session.accessed and SESSION_KEY in session


class AtomicWritesMiddleware:
    """Each request that may write runs in one transaction; a read runs in none.

    Django's ATOMIC_REQUESTS would open a transaction for every view, reads too, and on SQLite
    opening one takes the database's write lock (BEGIN IMMEDIATE), so every page view would
    queue behind every other. This does what it does for the requests that may write (every
    method but GET, HEAD and OPTIONS): if the view raises, such as a signup whose confirmation
    mail cannot go, everything it wrote is rolled back before any other middleware answers.

    Last in MIDDLEWARE, so the transaction holds the view and little else, and its
    process_exception runs before every other middleware's.
    """

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
    KEY = "_atomic_write"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in self.SAFE_METHODS:
            return self.get_response(request)
        block = transaction.atomic()
        block.__enter__()
        request.__dict__[self.KEY] = block
        try:
            response = self.get_response(request)
        except BaseException as error:
            self._end(request, error)
            raise
        self._end(request, None)  # commits, unless the view raised
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        self._end(request, exception)  # rolls back now, as ATOMIC_REQUESTS would

    def _end(self, request: HttpRequest, error: BaseException | None) -> None:
        block = request.__dict__.pop(self.KEY, None)
        if block is not None:
            block.__exit__(type(error) if error else None, error, error and error.__traceback__)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the site's one policy built once instead of per response,
    and no nonce.

    django-csp builds the header from settings on every response (about a tenth of a
    millisecond: a fifth of a bare page's cost here). The site's policy changes only with its
    settings, so it is built when they change. The policy allows no inline script, so nothing
    asks for a nonce and none is made (`request.csp_nonce` is not set). A response that
    adjusts the policy (django-csp's decorators), and every response while report-only or
    excluded paths are configured, goes through django-csp's own code.
    """

    # What django-csp's decorators set on a response (as attributes, so in its __dict__).
    ADJUSTMENTS = frozenset({
        "_csp_exempt", "_csp_exempt_ro",
        "_csp_config", "_csp_update", "_csp_replace",
        "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro",
    })  # fmt: skip

    def __init__(self, get_response):
        super().__init__(get_response)
        self._built_from: tuple = ()
        self._header = ""
        self._plain = False  # whether the settings leave every response to the built header

    def process_request(self, request: HttpRequest) -> None:
        return None  # no nonce (see above)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        self._build()
        if not self._plain or not self.ADJUSTMENTS.isdisjoint(response.__dict__):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in {500, 404}:
            return response  # Django's debug pages, as django-csp leaves them
        if self._header and HEADER not in response:
            response.headers[HEADER] = self._header
        return response

    def _build(self) -> None:
        """The header, built again whenever the settings it comes from are replaced."""
        policy = settings.CONTENT_SECURITY_POLICY
        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        if (
            self._built_from
            and self._built_from[0] is policy
            and self._built_from[1] is report_only
        ):
            return
        self._header = build_policy()
        self._plain = not report_only and not (policy or {}).get("EXCLUDE_URL_PREFIXES")
        self._built_from = (policy, report_only)  # held, so a new setting is a new object
