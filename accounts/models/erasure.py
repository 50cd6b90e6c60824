"""The erasure log: that a person's data was erased, by whom and when, naming no one."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from policy.models import LedgerQuerySet, LedgerRecord


class ErasureMethod(models.TextChoices):
    """Who asked for an erasure."""

    SELF = "self", "by the person, from their account"
    STAFF = "staff", "by staff, in the admin"


class Erasure(LedgerRecord):
    """A person's personal data was erased: when, how, by whom, and the id that replaced them.

    It names no one. The subject id is the one their pseudonymised ledger records now carry,
    so those records can be told apart from other people's, never traced back to a person.
    """

    Method = ErasureMethod

    subject_id = models.UUIDField(unique=True)
    erased_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=10, choices=ErasureMethod)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member who erased the data; empty when the person did it.",
    )

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["-erased_at"]
        verbose_name = "erasure of personal data"
        verbose_name_plural = "erasures of personal data"
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=ErasureMethod.values), name="erasure_method_known"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject_id} erased {self.get_method_display()}"
