"""The consent ledger: append-only records of what each person accepted and chose."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

if TYPE_CHECKING:
    from .documents import PolicyVersion


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


class ConsentMethod(models.TextChoices):
    """How a person gave an acceptance or a choice."""

    SIGNUP = "signup", "at signup"
    REVIEW = "review", "on the review page"
    EMAIL_LINK = "email_link", "from an email link"
    ACCOUNT = "account", "on their account page"
    GPC = "gpc", "by their browser's Global Privacy Control"


class Acceptance(LedgerRecord):
    """An append-only record that a person accepted one exact version of a policy."""

    Method = ConsentMethod

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
    version = models.ForeignKey(
        "policy.PolicyVersion", on_delete=models.PROTECT, related_name="acceptances"
    )
    version_sha256 = models.CharField(
        "SHA-256 accepted", max_length=64, help_text="Fingerprint of the exact text accepted."
    )
    accepted_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=20, choices=Method.choices)
    ip_address = models.GenericIPAddressField(
        "IP address",
        null=True,
        blank=True,
        help_text="Where the request came from (the visitor's own address, not our proxy's).",
    )
    user_agent = models.CharField(max_length=512, blank=True)

    objects = AcceptanceQuerySet.as_manager()

    class Meta:
        ordering = ["-accepted_at"]
        verbose_name = "policy acceptance"
        # One permission for the whole consent ledger (choices and preference changes too):
        # an export holds every record with its IP address and browser.
        permissions = [("export_consent_records", "Can export consent records")]
        indexes = [models.Index(fields=["user", "-accepted_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=ConsentMethod.values), name="acceptance_method_known"
            ),
            models.CheckConstraint(condition=~Q(version_sha256=""), name="acceptance_has_sha256"),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.subject_id} accepted {self.version} {self.get_method_display()}"


class ChoiceQuerySet(LedgerQuerySet):
    def allows(self, user, purpose: str) -> bool:
        """Whether `user` said yes to `purpose` in their latest answer. No answer means no."""
        latest = self.filter(user=user, purpose=purpose).order_by("-chosen_at", "-pk").first()
        return latest is not None and latest.allowed

    def answers_of(self, user) -> list[Choice]:
        """`user`'s latest answer about each use they were asked about, newest first.

        The answer that counts, as `allows` reads it: one per purpose.
        """
        latest: dict[str, Choice] = {}
        for choice in self.for_user(user).order_by("-chosen_at", "-pk"):
            latest.setdefault(choice.purpose, choice)
        return list(latest.values())

    def users_allowing(self, purpose: str) -> models.QuerySet:
        """The users whose latest answer about `purpose` is yes."""
        latest = (
            self.filter(user=OuterRef("pk"), purpose=purpose)
            .order_by("-chosen_at", "-pk")
            .values("allowed")[:1]
        )
        users = self.model._meta.get_field("user").related_model.objects
        return users.annotate(_allows=Subquery(latest)).filter(_allows=True)

    def for_user(self, user) -> ChoiceQuerySet:
        return self.filter(user=user).select_related("new_use", "version__document")


class Choice(LedgerRecord):
    """An append-only record of one person's answer about one new use of their data."""

    Method = ConsentMethod

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="choices"
    )
    subject_id = models.UUIDField(
        null=True, blank=True, help_text="A random id that replaces the user on deletion."
    )
    version = models.ForeignKey("policy.PolicyVersion", on_delete=models.PROTECT, related_name="+")
    version_sha256 = models.CharField("SHA-256 of the policy text", max_length=64)
    new_use = models.ForeignKey("policy.NewUse", on_delete=models.PROTECT, related_name="choices")
    purpose = models.SlugField(max_length=60, help_text="Copied from the new use.")
    allowed = models.BooleanField(help_text="Yes if the person chose “Allow”.")
    chosen_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=20, choices=ConsentMethod)
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
                condition=Q(method__in=ConsentMethod.values), name="choice_method_known"
            ),
        ]

    def __str__(self) -> str:
        answer = "allowed" if self.allowed else "did not allow"
        return f"{self.user or self.subject_id} {answer} {self.purpose}"
