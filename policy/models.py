"""Policy documents and their versions; a published version is public record and never changes."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Min, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

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

    def material(self) -> PolicyVersionQuerySet:
        return self.filter(is_material=True)

    def latest_published(self) -> PolicyVersion | None:
        """The newest published version, whether or not it is in effect yet."""
        return self.published().order_by("-number").first()

    def previous_to(self, version: PolicyVersion) -> PolicyVersion | None:
        """The published version just before `version` in the same document."""
        return (
            self.published()
            .filter(document_id=version.document_id, number__lt=version.number)
            .select_related("document")
            .order_by("-number")
            .first()
        )

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
    is_material = models.BooleanField(
        "material change",
        default=False,
        help_text="A change people must be told about by email, and may answer on the review "
        "page. It must be published at least POLICY_NOTICE_DAYS before it takes effect.",
    )
    notice_override_reason = models.TextField(
        blank=True,
        editable=False,
        help_text="Why this material change was published with less than the usual notice.",
    )
    notice_overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
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
        permissions = [
            ("publish_policyversion", "Can publish policy versions"),
            ("override_notice_period", "Can publish a material change with short notice"),
        ]
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


class LedgerQuerySet(models.QuerySet):
    """Ledger rows are evidence: a queryset cannot delete them either."""

    def delete(self):
        raise LedgerError(f"{self.model._meta.verbose_name_plural} cannot be deleted.".capitalize())

    delete.queryset_only = True


class LedgerRecord(models.Model):
    """An append-only consent-ledger record: written once, never changed or deleted.

    (Deleting an account pseudonymises its records with a queryset update, on purpose.)
    """

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise LedgerError(f"A {self._meta.verbose_name} cannot be changed; add a new one.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerError(f"A {self._meta.verbose_name} is evidence and cannot be deleted.")


class AcceptanceQuerySet(LedgerQuerySet):
    def last_accepted(self, user, *, document: str) -> PolicyVersion | None:
        """The newest version of `document` that `user` has accepted, or None."""
        acceptance = (
            self.filter(user=user, version__document__slug=document)
            .select_related("version")
            .order_by("-version__number")
            .first()
        )
        return acceptance.version if acceptance else None

    def for_user(self, user) -> AcceptanceQuerySet:
        return self.filter(user=user).select_related("version__document").order_by("-accepted_at")


class Acceptance(LedgerRecord):
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


class NewUse(models.Model):
    """A new use of personal data that a material version introduces, and asks people about."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="new_uses")
    name = models.CharField(
        max_length=100, help_text="A short name people will read, e.g. “Partner offers”."
    )
    purpose = models.SlugField(
        max_length=60,
        blank=True,
        help_text="A stable code name; filled in from the name when left empty. Code asks "
        "Choice.objects.allows(user, purpose) before using data this way.",
    )
    description = models.TextField(
        help_text="What the data is used for, in plain words; shown beside Allow / Don't allow."
    )

    class Meta:
        ordering = ["version", "pk"]
        verbose_name = "new use of data"
        verbose_name_plural = "new uses of data"
        constraints = [
            models.UniqueConstraint(fields=["version", "purpose"], name="new_use_unique_purpose"),
            models.CheckConstraint(condition=~Q(purpose=""), name="new_use_has_purpose"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if PolicyVersion.objects.filter(pk=self.version_id, published_at__isnull=False).exists():
            raise PublishedVersionError("The new uses of a published version cannot change.")
        self.purpose = self.purpose or slugify(self.name)[:60]
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.version.is_published:
            raise PublishedVersionError("The new uses of a published version cannot change.")
        return super().delete(*args, **kwargs)

    def clean(self) -> None:
        # Before the form checks the constraints: an empty purpose comes from the name.
        self.purpose = self.purpose or slugify(self.name)[:60]


class ChoiceQuerySet(LedgerQuerySet):
    def allows(self, user, purpose: str) -> bool:
        """Whether `user` said yes to `purpose` in their latest answer. No answer means no."""
        latest = self.filter(user=user, purpose=purpose).order_by("-chosen_at", "-pk").first()
        return latest is not None and latest.allowed

    def users_allowing(self, purpose: str):
        """The users whose latest answer about `purpose` is yes."""
        from django.contrib.auth import get_user_model

        latest = (
            self.filter(user=OuterRef("pk"), purpose=purpose)
            .order_by("-chosen_at", "-pk")
            .values("allowed")[:1]
        )
        return get_user_model().objects.annotate(_allows=Subquery(latest)).filter(_allows=True)

    def for_user(self, user) -> ChoiceQuerySet:
        return self.filter(user=user).select_related("new_use", "version__document")


class Choice(LedgerRecord):
    """An append-only record of one person's answer about one new use of their data."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="choices"
    )
    subject_id = models.UUIDField(
        null=True, blank=True, help_text="A random id that replaces the user on deletion."
    )
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    version_sha256 = models.CharField("SHA-256 of the policy text", max_length=64)
    new_use = models.ForeignKey(NewUse, on_delete=models.PROTECT, related_name="choices")
    purpose = models.SlugField(max_length=60, help_text="Copied from the new use.")
    allowed = models.BooleanField(help_text="Yes if the person chose “Allow”.")
    chosen_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=20, choices=Acceptance.Method.choices)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)

    objects = ChoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-chosen_at", "-pk"]
        verbose_name = "choice about a new use"
        verbose_name_plural = "choices about new uses"
        indexes = [models.Index(fields=["user", "purpose", "-chosen_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=["signup", "review", "email_link"]),
                name="choice_method_known",
            ),
        ]

    def __str__(self) -> str:
        answer = "allowed" if self.allowed else "did not allow"
        return f"{self.user or self.subject_id} {answer} {self.purpose}"


class PolicyNoticeQuerySet(models.QuerySet):
    def due(self, at: datetime | None = None) -> PolicyNoticeQuerySet:
        """Pending notices whose (next) attempt time has come."""
        return self.filter(
            status=PolicyNotice.Status.PENDING, next_attempt_at__lte=at or timezone.now()
        )


class PolicyNotice(models.Model):
    """One person's email notice of a material version or a breach: sent once, at most."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    version = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="notices"
    )
    incident = models.ForeignKey(
        "Incident", on_delete=models.PROTECT, null=True, blank=True, related_name="notices"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="policy_notices"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    email = models.EmailField(blank=True, help_text="The address it was sent to.")
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = PolicyNoticeQuerySet.as_manager()

    class Meta:
        ordering = ["version", "pk"]
        verbose_name = "policy change notice"
        constraints = [
            # One notice per person per version (or incident), whatever retries or workers do.
            models.UniqueConstraint(fields=["version", "user"], name="notice_once_per_user"),
            models.UniqueConstraint(
                fields=["incident", "user"], name="incident_notice_once_per_user"
            ),
            models.CheckConstraint(
                condition=Q(version__isnull=True) ^ Q(incident__isnull=True),
                name="notice_is_about_one_thing",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="notice_sent_has_time"
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.version or self.incident} notice to {self.user} ({self.status})"


class ContactMessage(models.Model):
    """A message sent through /privacy/contact/, handled by staff in the admin inbox."""

    class Status(models.TextChoices):
        NEW = "new", "new"
        ANSWERED = "answered", "answered"
        CLOSED = "closed", "closed"

    name = models.CharField(max_length=100)
    email = models.EmailField()
    subject = models.CharField(max_length=200)
    message = models.TextField(max_length=5000)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="contact_messages",
        help_text="The account that sent it, when the sender was signed in.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    staff_notes = models.TextField(blank=True, help_text="For staff only: what was done.")
    created_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "contact message"

    def __str__(self) -> str:
        return f"{self.subject} ({self.email})"


class Incident(models.Model):
    """A breach notice to the people it affects, kept as an audit record once sent."""

    subject = models.CharField(max_length=200, help_text="The email's subject line.")
    body = models.TextField(help_text="The email's text: what happened, what it means, what to do.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    audience = models.TextField(
        blank=True, editable=False, help_text="How the recipients were chosen."
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "breach notice"
        permissions = [("send_incident", "Can send breach notices")]

    def __str__(self) -> str:
        return self.subject
