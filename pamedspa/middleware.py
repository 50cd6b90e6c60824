"""Request hygiene: refuse form bodies that are not UTF-8, instead of silently mangling them."""

from urllib.parse import parse_qsl

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
