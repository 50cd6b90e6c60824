"""Policy documents and their versions; a published version is public record and never changes."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Min, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from .rendering import content_hash, render_markdown


class PublishedVersionError(ValidationError):
    """Raised on any attempt to change or delete a published version."""


class Document(models.Model):
    """A policy that has versions, such as the privacy policy or the terms of use."""

    slug = models.SlugField(
        unique=True,
        help_text="The address of the document: “privacy” serves it at /privacy/. Never change it "
        "once published, or old links break.",
    )
    title = models.CharField(
        max_length=200, help_text="The name readers see, e.g. “Privacy Policy”."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]
        verbose_name = "policy document"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("policy:current", kwargs={"document": self.slug})


class PolicyVersionQuerySet(models.QuerySet):
    def published(self) -> PolicyVersionQuerySet:
        """Versions that have been published, whether or not they are in effect yet."""
        return self.filter(published_at__isnull=False)

    def drafts(self) -> PolicyVersionQuerySet:
        return self.filter(published_at__isnull=True)

    def effective(self, at: datetime | None = None) -> PolicyVersionQuerySet:
        """Published versions whose effective time has come by `at` (default: now)."""
        return self.published().filter(effective_at__lte=at or timezone.now())

    def current(self, at: datetime | None = None) -> PolicyVersion | None:
        """The newest published version in effect at `at` (default: now), or None."""
        return self.effective(at).order_by("-number").first()

    def with_first_published_at(self) -> PolicyVersionQuerySet:
        """Annotate each version with its document's original publication date."""
        first = (
            PolicyVersion.objects.filter(document=OuterRef("document"))
            .published()
            .values("document")
            .annotate(first=Min("published_at"))
            .values("first")
        )
        return self.annotate(first_published_at=Subquery(first))

    def delete(self):
        if self.published().exists():
            raise PublishedVersionError("Published versions cannot be deleted.")
        return super().delete()

    delete.queryset_only = True


class PolicyVersion(models.Model):
    """One version of a document. A draft may be edited; once published it is frozen."""

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(
        editable=False,
        help_text="Assigned automatically: 1, 2, 3… for each document.",
    )
    title = models.CharField(max_length=200, help_text="Shown as the page heading.")
    body = models.TextField(
        help_text="The policy text in Markdown. Use “## Heading” for sections: each gets an "
        "anchor and an entry in the table of contents. Raw HTML is not allowed."
    )
    body_html = models.TextField(editable=False, help_text="Sanitised HTML made from the body.")
    toc = models.JSONField(
        default=list, editable=False, help_text="The headings of the body, for the contents list."
    )
    summary = models.TextField(
        help_text="A plain-language summary of what changed since the previous version, for "
        "readers of the history page."
    )
    effective_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When this version takes effect. Leave empty to take effect when published.",
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    sha256 = models.CharField(
        "SHA-256", max_length=64, editable=False, help_text="Fingerprint of the title and body."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = PolicyVersionQuerySet.as_manager()

    class Meta:
        ordering = ["document", "-number"]
        verbose_name = "policy version"
        permissions = [("publish_policyversion", "Can publish policy versions")]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "number"], name="policy_version_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="policy_version_number_positive"
            ),
            models.CheckConstraint(
                condition=Q(published_at__isnull=True) | Q(effective_at__isnull=False),
                name="policy_version_published_has_effective_at",
            ),
            models.CheckConstraint(condition=~Q(sha256=""), name="policy_version_has_sha256"),
        ]

    def __str__(self) -> str:
        return f"{self.document} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        if self.pk and self._published_in_database():
            raise PublishedVersionError("Published versions cannot be changed.")
        rendered = render_markdown(self.body)
        self.body_html = rendered.html
        self.toc = [{"level": h.level, "id": h.id, "text": h.text} for h in rendered.headings]
        self.sha256 = content_hash(title=self.title, body=self.body)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse(
            "policy:version", kwargs={"document": self.document.slug, "number": self.number}
        )

    def delete(self, *args, **kwargs):
        if self._published_in_database():
            raise PublishedVersionError("Published versions cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def is_current(self, at: datetime | None = None) -> bool:
        """Whether this is the version in effect at `at` (default: now)."""
        if not self.is_published:
            return False
        current = PolicyVersion.objects.filter(document_id=self.document_id).current(at)
        return current is not None and current.pk == self.pk

    def is_scheduled(self, at: datetime | None = None) -> bool:
        """Published, but its effective time is still to come."""
        return self.is_published and self.effective_at > (at or timezone.now())

    def clean(self) -> None:
        if self.pk and self._published_in_database():
            raise PublishedVersionError(
                "This version is published and cannot be changed. Make a new draft from it instead."
            )

    def _published_in_database(self) -> bool:
        return (
            self.pk is not None
            and PolicyVersion.objects.filter(pk=self.pk, published_at__isnull=False).exists()
        )


class LedgerError(ValidationError):
    """Raised on any attempt to rewrite or delete a ledger record."""


class AcceptanceQuerySet(models.QuerySet):
    def for_user(self, user) -> AcceptanceQuerySet:
        return self.filter(user=user).select_related("version__document").order_by("-accepted_at")

    def delete(self):
        raise LedgerError("Acceptance records are evidence and cannot be deleted.")

    delete.queryset_only = True


class Acceptance(models.Model):
    """An append-only record that a person accepted one exact version of a policy."""

    class Method(models.TextChoices):
        SIGNUP = "signup", "at signup"
        REVIEW = "review", "on the review page"
        EMAIL_LINK = "email_link", "from an email link"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="acceptances",
        help_text="Empty once the account is deleted; see the subject id.",
    )
    subject_id = models.UUIDField(
        null=True,
        blank=True,
        help_text="A random id that replaces the user when an account is deleted.",
    )
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    version_sha256 = models.CharField(
        "SHA-256 accepted", max_length=64, help_text="Fingerprint of the exact text accepted."
    )
    accepted_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=20, choices=Method.choices)
    ip_address = models.GenericIPAddressField(
        "IP address", null=True, blank=True, help_text="Found by the trusted-proxy rules."
    )
    user_agent = models.CharField(max_length=512, blank=True)

    objects = AcceptanceQuerySet.as_manager()

    class Meta:
        ordering = ["-accepted_at"]
        verbose_name = "policy acceptance"
        indexes = [models.Index(fields=["user", "-accepted_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=["signup", "review", "email_link"]),
                name="acceptance_method_known",
            ),
            models.CheckConstraint(condition=~Q(version_sha256=""), name="acceptance_has_sha256"),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.subject_id} accepted {self.version} {self.get_method_display()}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise LedgerError("Acceptance records cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerError("Acceptance records are evidence and cannot be deleted.")
