"""The topics people may opt in to, each person's current answer, and every change they make."""

from django.conf import settings
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone

from policy.models import LedgerQuerySet, LedgerRecord


class TopicQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def with_opt_in_counts(self):
        """Count the active people opted in, as the CSV export lists them."""
        return self.annotate(
            opted_in=Count(
                "subscriptions",
                filter=Q(subscriptions__opted_in=True, subscriptions__user__is_active=True),
            )
        )


class Topic(models.Model):
    """Something people may choose to hear about: a newsletter, product updates, partner offers."""

    name = models.CharField(max_length=100, help_text="What people see beside the switch.")
    slug = models.SlugField(unique=True, help_text="A stable code name, used in unsubscribe links.")
    description = models.TextField(help_text="What people get, and how often, in plain words.")
    shares_with_partners = models.BooleanField(
        default=False,
        help_text="Tick if opting in means we share the person's data with partners.",
    )
    is_active = models.BooleanField(default=True, help_text="Untick to stop offering it.")
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower comes first.")

    objects = TopicQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        verbose_name = "preference topic"
        permissions = [("export_mailing_list", "Can export mailing lists")]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """The current answer of one person about one topic, kept beside the ledger."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="subscriptions")
    opted_in = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["topic", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "topic"], name="subscription_once_per_topic")
        ]

    def __str__(self) -> str:
        return f"{self.user} {'in' if self.opted_in else 'out'}: {self.topic}"


class PreferenceMethod(models.TextChoices):
    """How a person turned a topic on or off."""

    PREFERENCES = "preferences", "on the preferences page"
    SIGNUP = "signup", "at signup"
    UNSUBSCRIBE = "unsubscribe", "from an unsubscribe link"
    GPC = "gpc", "by their browser's Global Privacy Control"


class PreferenceChange(LedgerRecord):
    """An append-only record of one person turning one topic on or off."""

    Method = PreferenceMethod

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    subject_id = models.UUIDField(
        null=True, blank=True, help_text="A random id that replaces the user on deletion."
    )
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="changes")
    opted_in = models.BooleanField()
    changed_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=20, choices=PreferenceMethod)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at", "-pk"]
        verbose_name = "preference change"
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=PreferenceMethod.values),
                name="preference_change_method_known",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user or self.subject_id} {'in' if self.opted_in else 'out'}: {self.topic}"
