"""Privacy requests: filing, verifying by email, and staff working them to an answer.

Every change of status is one event in the request's log and one email to the requester, in
the same transaction: if the mail server refuses the message, nothing changes (the site's
EmailDeliveryFailedMiddleware then says so). Links in these emails are built from SITE_URL,
like every other mail the site sends.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.core.context import request_context
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone

from policy.models import ContactMessage

from ..models import PrivacyRequest, PrivacyRequestEvent
from ..models.requests import ATTACHMENT_MAX_BYTES, DOWNLOAD_FOR, new_token
from .people import account_erase, account_erasure_plan, account_export

Status = PrivacyRequest.Status
Kind = PrivacyRequest.Kind

# Where each status may go next; staff act only on verified requests.
NEXT = {
    Status.RECEIVED: {Status.VERIFIED},
    Status.VERIFIED: {Status.IN_PROGRESS, Status.COMPLETED, Status.REJECTED},
    Status.IN_PROGRESS: {Status.COMPLETED, Status.REJECTED},
}


def _link(name: str, token: str) -> str:
    return settings.SITE_URL + reverse(name, args=[token])


def _record(
    privacy_request: PrivacyRequest, status: str, *, by=None, note: str = ""
) -> PrivacyRequestEvent:
    return PrivacyRequestEvent.objects.create(
        request=privacy_request, status=status, by=by, note=note
    )


def _send(request: HttpRequest, template: str, privacy_request: PrivacyRequest, **context):
    # allauth's adapter reads the request from its context, which the middleware sets only
    # for requests it saw; this works for any request (and so in tests).
    with request_context(request):
        get_adapter(request).send_mail(
            template, privacy_request.email, {"privacy_request": privacy_request, **context}
        )


def _tell(request: HttpRequest, privacy_request: PrivacyRequest, **extra) -> None:
    """Email the requester what just happened to their request."""
    form_url = settings.SITE_URL + reverse("privacy_request")
    _send(request, "account/email/privacy_request_status", privacy_request,
          form_url=form_url, **extra)  # fmt: skip


def _verified(privacy_request: PrivacyRequest, *, user, at) -> None:
    privacy_request.status = Status.VERIFIED
    privacy_request.user = user
    privacy_request.verified_at = at
    privacy_request.due_at = at + timedelta(days=settings.PRIVACY_REQUEST_DAYS)
    privacy_request.verify_digest = ""  # the link works once


@transaction.atomic
def request_file(*, request: HttpRequest, kind: str, email: str, details: str) -> PrivacyRequest:
    """File a request from the public form and email a link that verifies it.

    The same work and the same email whether or not an account uses the address: nothing is
    looked up until the link is followed.
    """
    token, digest = new_token()
    privacy_request = PrivacyRequest.objects.create(
        kind=kind, email=email, details=details, verify_digest=digest
    )
    _record(privacy_request, Status.RECEIVED, note="Filed on the website.")
    _send(request, "account/email/privacy_request_verify", privacy_request,
          verify_url=_link("privacy_request_verify", token))  # fmt: skip
    return privacy_request


@transaction.atomic
def request_file_signed_in(
    *, request: HttpRequest, user, kind: str, details: str
) -> PrivacyRequest:
    """File a request for a signed-in person who has just re-authenticated: verified at once."""
    now = timezone.now()
    privacy_request = PrivacyRequest(kind=kind, email=user.email, details=details, received_at=now)
    _verified(privacy_request, user=user, at=now)
    privacy_request.save()
    _record(privacy_request, Status.RECEIVED, note="Filed on the website, signed in.")
    _record(privacy_request, Status.VERIFIED, note="The account holder re-authenticated.")
    _tell(request, privacy_request)
    return privacy_request


@transaction.atomic
def request_verify(*, request: HttpRequest, token: str) -> PrivacyRequest | None:
    """Verify the request whose link carries `token`; None when the link is used or expired.

    The account whose verified address this is, if any, is linked now, for staff to see.
    """
    privacy_request = PrivacyRequest.objects.awaiting_verification(token)
    if privacy_request is None:
        return None
    address = (
        EmailAddress.objects.filter(email__iexact=privacy_request.email, verified=True)
        .select_related("user")
        .order_by("-primary", "pk")
        .first()
    )
    _verified(privacy_request, user=address.user if address else None, at=timezone.now())
    privacy_request.save()
    _record(privacy_request, Status.VERIFIED, note="The requester followed the emailed link.")
    _tell(request, privacy_request)
    return privacy_request


def request_check(
    privacy_request: PrivacyRequest, status: str, text: str = "", attachment=None
) -> None:
    """Raise ValidationError, in words for staff, unless the request may move to `status`
    with `text` (a note, the reason for refusing, or what was found or changed) and
    `attachment` (a file for the requester, for a copy of the data of an address without an
    account)."""
    if status not in NEXT.get(privacy_request.status, set()):
        raise ValidationError(
            f"A request that is “{privacy_request.get_status_display().lower()}” cannot be "
            f"marked “{Status(status).label.lower()}”."
        )
    if status == Status.REJECTED and not text.strip():
        raise ValidationError("Say why the request is refused: the requester reads it.")
    if attachment is not None:
        if not (privacy_request.kind == Kind.ACCESS and privacy_request.user is None):
            raise ValidationError(
                "Attach a file only to answer a request for a copy of the data of an address "
                "without an account."
            )
        if attachment.size > ATTACHMENT_MAX_BYTES:
            raise ValidationError(
                f"The file is too big: at most {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB."
            )
    missing = not text.strip() and attachment is None
    if status == Status.COMPLETED and missing and (needed := outcome_needed(privacy_request)):
        raise ValidationError(needed)


@transaction.atomic
def request_start(*, request: HttpRequest, privacy_request: PrivacyRequest, by, note=""):
    """Staff have started work on the request."""
    request_check(privacy_request, Status.IN_PROGRESS, note)
    privacy_request.status = Status.IN_PROGRESS
    privacy_request.save(update_fields=["status"])
    _record(privacy_request, Status.IN_PROGRESS, by=by, note=note)
    _tell(request, privacy_request)


@transaction.atomic
def request_reject(*, request: HttpRequest, privacy_request: PrivacyRequest, by, reason):
    """Staff refuse the request, saying why; the requester is told the reason."""
    request_check(privacy_request, Status.REJECTED, reason)
    privacy_request.status = Status.REJECTED
    privacy_request.outcome = reason.strip()
    privacy_request.closed_at = timezone.now()
    privacy_request.save(update_fields=["status", "outcome", "closed_at"])
    _record(privacy_request, Status.REJECTED, by=by, note=privacy_request.outcome)
    _tell(request, privacy_request)


def outcome_needed(privacy_request: PrivacyRequest) -> str:
    """What staff must write to complete this request, or "" when the site writes it."""
    if privacy_request.kind == Kind.CORRECTION:
        return "Say what you changed: the requester reads it."
    if privacy_request.kind == Kind.ACCESS and privacy_request.user is None:
        return (
            "No account uses this address: write what we hold about the person, or attach a "
            "file, or both. They get it through a single-use download link."
        )
    return ""


@transaction.atomic
def request_complete(
    *,
    request: HttpRequest,
    privacy_request: PrivacyRequest,
    by,
    outcome: str = "",
    attachment=None,
) -> None:
    """Answer the request, as its kind needs, and tell the requester.

    - access: a single-use download link, valid DOWNLOAD_FOR: the account's JSON export, the
      one people download themselves, or else what staff wrote about the address;
    - deletion: the account's erasure (the same as self-service deletion), or else the
      messages sent from the address; the answer says what was kept and why;
    - correction: what staff wrote that they changed.
    """
    request_check(privacy_request, Status.COMPLETED, outcome, attachment)
    outcome = outcome.strip()
    extra = {}
    if attachment is not None:
        privacy_request.attachment = attachment.read()
        privacy_request.attachment_name = (attachment.name or "attachment")[-200:]
        privacy_request.attachment_size = len(privacy_request.attachment)
    if privacy_request.kind == Kind.ACCESS:
        token, privacy_request.download_digest = new_token()
        privacy_request.download_expires_at = timezone.now() + DOWNLOAD_FOR
        extra["download_url"] = _link("privacy_request_download", token)
    elif privacy_request.kind == Kind.DELETION:
        outcome = "\n\n".join(filter(None, [_erase(privacy_request, by=by), outcome]))
    privacy_request.status = Status.COMPLETED
    privacy_request.outcome = outcome
    privacy_request.closed_at = timezone.now()
    privacy_request.save()
    attached = f"\n\nAttached: {privacy_request.attachment_name}" if attachment else ""
    _record(privacy_request, Status.COMPLETED, by=by, note=(outcome + attached).strip())
    _tell(request, privacy_request, **extra)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{pluralize(n)}"


def _erase(privacy_request: PrivacyRequest, *, by) -> str:
    """Delete what the request covers; returns what was deleted and kept, in plain words."""
    user = privacy_request.user
    if user is None:
        deleted, _ = ContactMessage.objects.filter(email__iexact=privacy_request.email).delete()
        return (
            "No account uses this address. "
            + (
                f"We deleted {_count(deleted, 'message')} you sent us from it. "
                if deleted
                else "We found no message from it to delete. "
            )
            + "We keep this request and our answer, to show that we answered it."
        )
    plan = account_erasure_plan(user=user)
    account_erase(user=user, by=by)
    privacy_request.user = None  # gone; the request stays, as the record of the answer
    kept = plan.acceptances + plan.choices + plan.preference_changes
    return (
        "We deleted your account, its email addresses, sessions, second factors, "
        f"preferences and {_count(plan.contact_messages, 'message')} you sent us. "
        f"We keep {_count(kept, 'record')} of what you agreed to and chose, and "
        f"{_count(plan.notices, 'record')} of notices we sent, without your name, email "
        "address, IP address or browser: the law asks us to be able to show that consent "
        "was given. We keep this request and our answer, to show that we answered it."
    )


@transaction.atomic
def request_download(*, token: str) -> tuple[str, str, bytes | dict | str] | None:
    """Use a download link once: (kind, file name, content).

    kind is "json" (the account's export), "text" (what staff wrote), "file" (what they
    attached, under its own name) or "zip" (both). The attached file is deleted once
    downloaded. None when the link is used, expired, or its account has since been erased.
    """
    privacy_request = PrivacyRequest.objects.downloadable(token)
    if privacy_request is None:
        return None
    answer = _answer(privacy_request)
    privacy_request.downloaded_at = timezone.now()
    privacy_request.download_digest = ""
    privacy_request.attachment = b""
    privacy_request.save(update_fields=["downloaded_at", "download_digest", "attachment"])
    _record(privacy_request, Status.COMPLETED, note="The requester downloaded the answer.")
    return answer


def _answer(privacy_request: PrivacyRequest) -> tuple[str, str, bytes | dict | str]:
    if privacy_request.user is not None:
        export = account_export(user=privacy_request.user)
        if not privacy_request.outcome:
            return "json", "", export
        # What staff wrote comes with the data, never in the email.
        return "zip", "", _zip({"your-data.json": json.dumps(export, indent=2),
                                "our-answer.txt": privacy_request.outcome})  # fmt: skip
    attachment = bytes(privacy_request.attachment or b"")
    if attachment and privacy_request.outcome:
        name = _safe_name(privacy_request.attachment_name)
        return "zip", "", _zip({"our-answer.txt": privacy_request.outcome, name: attachment})
    if attachment:
        return "file", _safe_name(privacy_request.attachment_name), attachment
    return "text", "", privacy_request.outcome


def _zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _safe_name(name: str) -> str:
    """A file name with no folders or control characters in it."""
    return re.sub(r"[\\/\x00-\x1f]", "_", name).lstrip(".") or "attachment"
