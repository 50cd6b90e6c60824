"""Privacy requests from anyone, account or not: a copy of my data, correct it, delete it.

A request is filed on a public form, verified by a single-use emailed link (or at once by a
signed-in person who re-authenticates), then worked by staff to completed or rejected. Every
step is an event in the request's log, with who and when; the requester is told each time.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from policy.models import LedgerQuerySet, LedgerRecord

VERIFY_FOR = timedelta(hours=24)
DOWNLOAD_FOR = timedelta(days=7)
URGENT_WITHIN = timedelta(days=7)
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024


def token_digest(token: str) -> str:
    """What is stored of a link's token: a digest, so a database leak holds no working link."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh link token and its digest."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


class PrivacyRequestQuerySet(models.QuerySet):
    def open(self) -> PrivacyRequestQuerySet:
        """Verified and not finished: what staff owe an answer to."""
        return self.filter(
            status__in=[PrivacyRequest.Status.VERIFIED, PrivacyRequest.Status.IN_PROGRESS]
        )

    def urgent(self, at: datetime | None = None) -> PrivacyRequestQuerySet:
        """Open requests due within a week of `at`, or overdue."""
        return self.open().filter(due_at__lte=(at or timezone.now()) + URGENT_WITHIN)

    def _verifying(self, token: str) -> PrivacyRequestQuerySet:
        return self.filter(
            status=PrivacyRequest.Status.RECEIVED,
            verify_digest=token_digest(token),
            received_at__gt=timezone.now() - VERIFY_FOR,
        )

    def _downloading(self, token: str) -> PrivacyRequestQuerySet:
        return self.filter(
            status=PrivacyRequest.Status.COMPLETED,
            download_digest=token_digest(token),
            download_expires_at__gt=timezone.now(),
            downloaded_at__isnull=True,
        )

    def verifiable(self, token: str) -> bool:
        """Whether a verification link carrying `token` still works (unused, and new)."""
        return self._verifying(token).exists()

    def awaiting_verification(self, token: str) -> PrivacyRequest | None:
        """The request whose verification link carries `token`, locked, while it still works."""
        return self._verifying(token).select_for_update().first()

    def downloadable_exists(self, token: str) -> bool:
        """Whether a download link carrying `token` still works."""
        return self._downloading(token).exists()

    def downloadable(self, token: str) -> PrivacyRequest | None:
        """The completed request whose download link carries `token`, locked, while it works."""
        return self._downloading(token).select_for_update().first()


class PrivacyRequest(models.Model):
    class Kind(models.TextChoices):
        ACCESS = "access", "A copy of my data"
        CORRECTION = "correction", "Correct my data"
        DELETION = "deletion", "Delete my data"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received, waiting for the email to be confirmed"
        VERIFIED = "verified", "Verified, waiting for staff"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"

    kind = models.CharField("request", max_length=20, choices=Kind)
    email = models.EmailField(help_text="The address the request came from; we answer there.")
    details = models.TextField(blank=True, help_text="What the person wrote.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The account with this verified address, found when the request was verified.",
    )
    status = models.CharField(max_length=20, choices=Status, default=Status.RECEIVED)
    received_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(
        "due", null=True, blank=True, help_text="The answer is due by then (from verification)."
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(
        blank=True,
        help_text="What we found, changed or kept, or why we refused; the requester reads it.",
    )
    attachment = models.BinaryField(
        blank=True,
        editable=False,
        help_text="A file staff attached to the answer; deleted once downloaded.",
    )
    attachment_name = models.CharField(max_length=200, blank=True, editable=False)
    attachment_size = models.PositiveIntegerField(default=0, editable=False)
    verify_digest = models.CharField(max_length=64, blank=True, editable=False)
    download_digest = models.CharField(max_length=64, blank=True, editable=False)
    download_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    downloaded_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = PrivacyRequestQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "received_at"]
        verbose_name = "privacy request"
        indexes = [models.Index(fields=["status", "due_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["access", "correction", "deletion"]),
                name="privacy_request_kind_known",
            ),
            models.CheckConstraint(
                condition=Q(status="received") | Q(due_at__isnull=False),
                name="privacy_request_due_once_verified",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(outcome=""),
                name="privacy_request_rejected_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.email})"

    @property
    def is_open(self) -> bool:
        return self.status in {self.Status.VERIFIED, self.Status.IN_PROGRESS}

    def is_urgent(self, at: datetime | None = None) -> bool:
        return bool(
            self.is_open and self.due_at and self.due_at <= (at or timezone.now()) + URGENT_WITHIN
        )


class PrivacyRequestEvent(LedgerRecord):
    """One step in a privacy request's life: who did what, and when. Never changed."""

    request = models.ForeignKey(PrivacyRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member; empty when the requester or the site did it.",
    )
    status = models.CharField(max_length=20, choices=PrivacyRequest.Status)
    note = models.TextField(blank=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = "privacy request event"

    def __str__(self) -> str:
        return f"{timezone.localtime(self.at):%b %-d, %Y, %H:%M}: {self.get_status_display()}"
