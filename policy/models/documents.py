"""Policy documents and their numbered versions; a published version is public record."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import slugify

from ..rendering import content_hash, render_markdown
from .notices import STALL, NoticeFanout, notice_counts

# The slug of the privacy policy: the document whose changes every page announces, whose
# acceptance signup records, and whose material changes people are asked to review.
PRIVACY = "privacy"


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

    def next_public_number(self) -> int:
        """The number the next version published (of one document) takes.

        Published versions run 1, 2, 3… in the order they are published, with no gap, so no
        one wonders what a missing number hid. A draft's number is provisional until then.
        """
        latest = self.latest_published()
        return latest.number + 1 if latest is not None else 1

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

    def awaiting_review_by(self, user) -> PolicyVersionQuerySet:
        """Published material versions newer than the newest version `user` accepted.

        The one rule for "must this person review a change?": the site-wide banner, the
        review page and anything else that asks use it. A minor version needs no review, and
        someone who never accepted a version must review every material one.
        """
        accepted = (
            self.model.objects.filter(document=OuterRef("document"), acceptances__user=user)
            .order_by("-number")
            .values("number")[:1]
        )
        return self.published().material().filter(number__gt=Coalesce(Subquery(accepted), 0))

    def with_notice_counts(self) -> PolicyVersionQuerySet:
        """Annotate each version with the counts of its notices (see `notice_counts`)."""
        return self.annotate(**notice_counts())

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
        "page. It must be published some time before it takes effect: the publish page says "
        "how long.",
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
    started_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,  # only ever a published version, which is never deleted
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="The published version whose text this draft was copied from.",
    )
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
            models.CheckConstraint(
                condition=Q(published_at__isnull=True) | ~Q(summary=""),
                name="policy_version_published_has_summary",
            ),
        ]

    def __str__(self) -> str:
        if self.is_published:
            return f"{self.document} v{self.number}"
        # A draft's number is provisional (see next_public_number): its name must not change.
        return f"{self.document} draft #{self.pk}" if self.pk else f"{self.document} new draft"

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

    def published_since_started(self) -> PolicyVersionQuerySet:
        """Published versions of its document that this draft's text does not build on.

        Those after the version it was copied from, or, for a draft written from scratch, those
        published after it was started, oldest first. Their changes are not in the draft unless
        someone copied them in: published as it is, the draft would undo them.
        """
        versions = PolicyVersion.objects.filter(document_id=self.document_id).published()
        if self.started_from_id is not None:
            newer = versions.filter(number__gt=self.started_from.number)
        else:
            newer = versions.filter(published_at__gt=self.created_at)
        return newer.exclude(pk=self.pk).order_by("number")

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
        self.clean_effective_at()

    def notices_stalled(self, at: datetime | None = None) -> str:
        """Why this version's notices are not going out, in plain words, or "" when they are."""
        stalled = self.notices.stalled(at).count()
        if stalled:
            return (
                f"{stalled} notice{'s have' if stalled != 1 else ' has'} waited more than "
                f"{STALL.seconds // 60} minutes, and no notice at all was sent meanwhile."
            )
        if (
            self.is_material
            and self.is_published
            and NoticeFanout.objects.stalled(at).filter(version=self).exists()
        ):
            minutes = STALL.seconds // 60
            return f"Its notices have not even been made, {minutes} minutes after publishing."
        return ""

    def clean_effective_at(self, *, allow_past: bool = False) -> None:
        """A version may not take effect before the newest published one, nor in the past.

        Publishing asks with `allow_past`: a draft saved to take effect "now" is a moment in
        the past by the time it is published, and only its order against the others matters.
        """
        if self.effective_at is None or self.is_published:
            return
        latest = (
            PolicyVersion.objects.filter(document_id=self.document_id)
            .exclude(pk=self.pk)
            .latest_published()
        )
        if latest is not None and self.effective_at < latest.effective_at:
            when = date_format(timezone.localtime(latest.effective_at), "DATETIME_FORMAT")
            raise ValidationError(
                {
                    "effective_at": f"Version {latest.number} takes effect on {when}; a newer "
                    "version cannot take effect before it."
                }
            )
        if not allow_past and self.effective_at < timezone.now():
            raise ValidationError(
                {
                    "effective_at": "That time has already passed. Choose a time to come, or "
                    "leave it empty: the version then takes effect when it is published."
                }
            )

    def clean_for_publishing(self) -> None:
        """What a version needs before it is published, beyond what any draft needs."""
        if not self.summary.strip():
            raise ValidationError({"summary": "Write a summary of the changes before publishing."})

    def _published_in_database(self) -> bool:
        return (
            self.pk is not None
            and PolicyVersion.objects.filter(pk=self.pk, published_at__isnull=False).exists()
        )


class NewUse(models.Model):
    """A new use of personal data that a material version introduces, and asks people about."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="new_uses")
    name = models.CharField(
        max_length=100, help_text="A short name people will read, e.g. “Partner offers”."
    )
    purpose = models.SlugField(
        max_length=60,
        blank=True,
        help_text="A short code for this use, made from the name when left empty. The site "
        "uses it to check each person's answer before using their data this way.",
    )
    description = models.TextField(
        help_text="What the data is used for, in plain words; shown beside Allow / Don't allow."
    )
    shares_data = models.BooleanField(
        "sells or shares data",
        default=False,
        help_text="Tick if this use sells people's data or shares it with others. People whose "
        "browser sends the Global Privacy Control signal are answered “Don't allow” for it.",
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
