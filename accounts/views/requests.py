"""Privacy requests from anyone: the public form, the emailed verification link, the download.

Links in emails are opened by mail scanners too, so every link shows a page with one button,
and only the POST acts.
"""

from allauth.account.decorators import reauthentication_required
from allauth.core.ratelimit import consume_or_429
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods, require_safe

from ..forms import PrivacyRequestForm
from ..models import PrivacyRequest
from ..services.requests import (
    request_download,
    request_file,
    request_file_signed_in,
    request_verify,
)


def _signed_in_post(request: HttpRequest) -> bool:
    return request.method == "POST" and request.user.is_authenticated


@require_http_methods(["GET", "HEAD", "POST"])
@reauthentication_required(enabled=_signed_in_post)  # allauth asks, then replays the POST
def privacy_request(request: HttpRequest) -> HttpResponse:
    """Ask for a copy, a correction or the deletion of one's data; no account needed.

    The answer on screen and the email are the same whether or not an account uses the
    address. A signed-in person re-authenticates instead of confirming by email.
    """
    signed_in = request.user.is_authenticated
    form = PrivacyRequestForm(request.POST or None, user=request.user)
    if request.method == "POST":
        email = request.user.email if signed_in else request.POST.get("email", "")
        if limited := consume_or_429(request, action="privacy_request", key=email.lower()):
            return limited
        if form.is_valid():
            data = form.cleaned_data
            if signed_in:
                request_file_signed_in(
                    request=request, user=request.user, kind=data["kind"], details=data["details"]
                )
                return redirect("privacy_request_verified")
            request_file(
                request=request, kind=data["kind"], email=data["email"], details=data["details"]
            )
            return redirect("privacy_request_sent")
    return render(request, "account/privacy_request.html", {"form": form, **_days()})


def _days() -> dict:
    return {"request_days": settings.PRIVACY_REQUEST_DAYS}


@require_safe
def privacy_request_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "account/privacy_request_sent.html")


@require_safe
def privacy_request_verified(request: HttpRequest) -> HttpResponse:
    return render(request, "account/privacy_request_verified.html", _days())


def _dead_link(request: HttpRequest) -> HttpResponse:
    return render(request, "account/privacy_request_link.html", {"invalid": True}, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
def privacy_request_verify(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: a button to confirm, which works once, within 24 hours."""
    if request.method == "POST":
        if request_verify(request=request, token=token) is None:
            return _dead_link(request)
        return redirect("privacy_request_verified")
    if not PrivacyRequest.objects.verifiable(token):  # used or expired: say so before the button
        return _dead_link(request)
    return render(request, "account/privacy_request_link.html", {"action": "verify"})


@require_http_methods(["GET", "HEAD", "POST"])
def privacy_request_download(request: HttpRequest, token: str) -> HttpResponse:
    """The answer to an access request: one download, within 7 days."""
    if request.method != "POST":
        if not PrivacyRequest.objects.downloadable_exists(token):
            return _dead_link(request)
        return render(request, "account/privacy_request_link.html", {"action": "download"})
    found = request_download(token=token)
    if found is None:
        return _dead_link(request)
    kind, name, content = found
    stem = f"pamedspa-your-data-{timezone.now():%Y%m%d}"
    if kind == "json":
        response = JsonResponse(content, json_dumps_params={"indent": 2})
        name = f"{stem}.json"
    elif kind == "text":
        response = HttpResponse(content, content_type="text/plain; charset=utf-8")
        name = f"{stem}.txt"
    elif kind == "zip":
        response = HttpResponse(content, content_type="application/zip")
        name = f"{stem}.zip"
    else:  # a file staff attached: never shown in the browser, only saved
        response = HttpResponse(content, content_type="application/octet-stream")
    response.headers["Content-Disposition"] = content_disposition_header(True, name)
    response.headers["Cache-Control"] = "no-store"
    return response
