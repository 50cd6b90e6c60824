"""Request hygiene: refuse bodies too big to be a form of this site, and form bodies that are
not UTF-8, instead of reading the first or silently mangling the second."""

from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string

FORM = "application/x-www-form-urlencoded"


class RejectUndecodableFormMiddleware:
    """A urlencoded body that is not UTF-8 (raw or percent-encoded) gets 400, not "\\ufffd".

    Django would replace the bad bytes and let forms see altered text. Multipart bodies are
    left to Django: their file parts are binary by nature.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.content_type == FORM:
            try:
                # request.body honours DATA_UPLOAD_MAX_MEMORY_SIZE (too big: 400 as well).
                parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, errors="strict")
            except UnicodeDecodeError:
                return HttpResponseBadRequest(render_to_string("400.html"))
        return self.get_response(request)


class BodySizeLimitMiddleware:
    """Refuse a request whose declared body is bigger than the site could want: 413, at once.

    Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not count a multipart body's file parts, which
    stream to disk, and gunicorn has no body limit, so without this a 10 MB post to any form
    is read in full. Public pages take small forms (REQUEST_BODY_MAX_BYTES); the admin takes
    files staff attach (ADMIN_REQUEST_BODY_MAX_BYTES). A body sent without a Content-Length
    (chunked) is never read by Django at all. nginx's client_max_body_size says the same
    sooner.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.headers.get("content-length") or 0)
        except ValueError:
            return HttpResponseBadRequest(render_to_string("400.html"))
        admin = request.path_info.startswith("/admin/")
        cap = settings.ADMIN_REQUEST_BODY_MAX_BYTES if admin else settings.REQUEST_BODY_MAX_BYTES
        if declared > cap:
            response = HttpResponse(
                render_to_string("413.html", {"limit_kb": cap // 1024}), status=413
            )
            response.headers["Connection"] = "close"  # the unread body must not be parsed next
            return response
        return self.get_response(request)
