"""Emailed notices, each sent once at most, and the breach incidents some of them announce.

A notice is about one thing: a material version of a policy, or a breach incident. The delivery
engine that claims and sends them lives in `policy.delivery`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from ..rendering import render_markdown

# Notices that have waited this long with nothing delivered meanwhile mean no worker is running.
STALL = timedelta(minutes=10)
# A notice "sending" for longer than HELD (a group takes seconds) was probably left by a worker
# that stopped; after LEASE nobody can still be sending it, and it is reported as interrupted.
HELD = timedelta(minutes=2)
LEASE = timedelta(minutes=15)


class NoticeStatus(models.TextChoices):
    PENDING = "pending", "pending"
    SENDING = "sending", "sending"
    SENT = "sent", "sent"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "not sent: the person's data was erased"


def notice_counts(relation: str = "notices") -> dict[str, Count]:
    """The notice counts shown for a version or an incident, as annotations over `relation`.

    "Pending" includes a notice being sent right now.
    """

    def count(*statuses: str) -> Count:
        return Count(relation, filter=Q(**{f"{relation}__status__in": statuses}))

    return {
        "notices_total": Count(relation),
        "notices_sent": count(NoticeStatus.SENT),
        "notices_pending": count(NoticeStatus.PENDING, NoticeStatus.SENDING),
        "notices_failed": count(NoticeStatus.FAILED),
    }


# Why a notice is "failed" when its worker died in the middle of sending it (see `interrupted`).
INTERRUPTED = (
    "Interrupted: the background worker stopped while sending this, so it may or may not have "
    "arrived. It was not sent again on its own, so that nobody gets it twice. “Send failed "
    "notices again” sends it anyway; the person may then get it twice."
)


class NoticeQuerySet(models.QuerySet):
    def interrupted(self) -> NoticeQuerySet:
        """Failed notices whose worker died while sending them: they may have arrived."""
        return self.filter(status=NoticeStatus.FAILED, last_error=INTERRUPTED)

    def held(self, at: datetime | None = None) -> NoticeQuerySet:
        """Notices "sending" for longer than HELD: their worker has probably stopped."""
        return self.filter(
            status=NoticeStatus.SENDING, claimed_at__lt=(at or timezone.now()) - HELD
        )

    def retrying(self) -> NoticeQuerySet:
        """Notices tried and not sent, waiting to be tried again (a connection error, a 4xx)."""
        return self.filter(status=NoticeStatus.PENDING, attempts__gt=0)

    def due(self, at: datetime | None = None) -> NoticeQuerySet:
        """Pending notices whose (next) attempt time has come."""
        return self.filter(status=NoticeStatus.PENDING, next_attempt_at__lte=at or timezone.now())

    def stalled(self, at: datetime | None = None) -> NoticeQuerySet:
        """Notices due for longer than STALL while nothing at all was delivered meanwhile.

        That is what a site whose task worker is not running looks like; a busy worker that
        is still sending makes this empty.
        """
        now = at or timezone.now()
        if self.model.objects.filter(sent_at__gte=now - STALL).exists():
            return self.none()
        return self.due(now - STALL)

    def with_address(self) -> NoticeQuerySet:
        """Annotate each notice with the address it goes to now (see `current_address`)."""
        return self.annotate(address=current_address())


def current_address() -> Subquery:
    """The address a notice's person is written to now: a verified one, the primary first.

    An expression over a notice row ("user"), for annotations and for updates alike.
    """
    return Subquery(
        EmailAddress.objects.filter(user=OuterRef("user"), verified=True)
        .order_by("-primary", "pk")
        .values("email")[:1]
    )


class Notice(models.Model):
    """One person's email about a material version, a breach or a mailing: sent once, at most."""

    Status = NoticeStatus

    version = models.ForeignKey(
        "policy.PolicyVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notices",
        help_text="The material policy change this notice announces.",
    )
    incident = models.ForeignKey(
        "policy.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notices",
        help_text="The breach this notice announces.",
    )
    mailing = models.ForeignKey(
        "policy.Mailing",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notices",
        help_text="The mail to a list (a topic's subscribers) this notice carries.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="notices",
        help_text="Empty once the person's data is erased; see the subject id.",
    )
    subject_id = models.UUIDField(
        null=True, blank=True, help_text="A random id that replaces the person on erasure."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    email = models.EmailField(
        blank=True, help_text="The address it was sent to (or, until then, last tried)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["version", "pk"]
        verbose_name = "notice"
        # Requeueing a notice whose delivery is unknown may send it twice: a separate right.
        permissions = [("requeue_notice", "Can requeue notices")]
        constraints = [
            # One notice per person per version (or incident), whatever retries or workers do.
            models.UniqueConstraint(fields=["version", "user"], name="notice_once_per_user"),
            models.UniqueConstraint(
                fields=["incident", "user"], name="incident_notice_once_per_user"
            ),
            models.UniqueConstraint(
                fields=["mailing", "user"], name="mailing_notice_once_per_user"
            ),
            models.CheckConstraint(
                condition=(
                    Q(version__isnull=False, incident__isnull=True, mailing__isnull=True)
                    | Q(version__isnull=True, incident__isnull=False, mailing__isnull=True)
                    | Q(version__isnull=True, incident__isnull=True, mailing__isnull=False)
                ),
                name="notice_is_about_one_thing",
            ),
            models.CheckConstraint(
                condition=~Q(status=NoticeStatus.SENT) | Q(sent_at__isnull=False),
                name="notice_sent_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.about} notice to {self.user or self.subject_id} ({self.status})"

    @property
    def about(self):
        """The version, incident or mailing this notice is about."""
        return self.version or self.incident or self.mailing

    @property
    def kind(self) -> str:
        if self.version_id:
            return "policy change"
        return "breach" if self.incident_id else "topic mail"


class IncidentQuerySet(models.QuerySet):
    def with_notice_counts(self) -> IncidentQuerySet:
        """Annotate each incident with the counts of its notices (see `notice_counts`)."""
        return self.annotate(**notice_counts())


class Incident(models.Model):
    """A breach notice to the people it affects, kept as an audit record once sent."""

    subject = models.CharField(max_length=200, help_text="The email's subject line.")
    body = models.TextField(help_text="The email's text: what happened, what it means, what to do.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    audience = models.TextField(
        blank=True, editable=False, help_text="How the recipients were chosen, and how many."
    )
    unmatched = models.TextField(
        "names that matched nobody",
        blank=True,
        editable=False,
        help_text="Names on the list of recipients that matched no account, one per line.",
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "breach notice"
        permissions = [("send_incident", "Can send breach notices")]

    def __str__(self) -> str:
        return self.subject


class NoticeFanoutQuerySet(models.QuerySet):
    def unfinished(self) -> NoticeFanoutQuerySet:
        return self.filter(completed_at__isnull=True)

    def stalled(self, at: datetime | None = None) -> NoticeFanoutQuerySet:
        """Fan-outs left unfinished for longer than STALL: no worker picked them up."""
        return self.unfinished().filter(created_at__lte=(at or timezone.now()) - STALL)


class NoticeFanout(models.Model):
    """The creation of a material version's notices, one per person.

    Recorded in the same transaction that publishes the version, and finished once every
    recipient has a notice: by the task that publishing queues or, if no worker ran it, by the
    next `send_policy_notices`. So a published material version always gets its notices.
    """

    version = models.OneToOneField(
        "policy.PolicyVersion", on_delete=models.PROTECT, related_name="fanout"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = NoticeFanoutQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "notice fan-out"

    def __str__(self) -> str:
        return f"Notices of {self.version}"


class MailingQuerySet(models.QuerySet):
    def with_notice_counts(self) -> MailingQuerySet:
        """Annotate each mailing with the counts of its notices (see `notice_counts`)."""
        return self.annotate(**notice_counts())


class Mailing(models.Model):
    """A message staff wrote to the people on a list (a topic's subscribers), sent once.

    It goes through the same notices as policy changes and breaches: each person's copy is
    claimed and sent at most once. Once sent it is a read-only record of what went out, when,
    by whom and to how many.
    """

    list_key = models.CharField(
        "list",
        max_length=100,
        help_text="Who it is for: the people who chose this topic, at the moment it is sent.",
    )
    list_name = models.CharField(max_length=200, editable=False)
    subject = models.CharField(max_length=200, help_text="The email's subject line.")
    body = models.TextField(
        help_text="The email's text in Markdown. Raw HTML is not allowed. A line saying why "
        "the person gets it, and a link to stop, are added at the end."
    )
    body_html = models.TextField(editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    audience = models.TextField(
        blank=True, editable=False, help_text="Who it went to, and how many."
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = MailingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "topic mail"
        verbose_name_plural = "topic mail"
        permissions = [("send_mailing", "Can send topic mail")]

    def __str__(self) -> str:
        return self.subject

    def save(self, *args, **kwargs) -> None:
        self.body_html = render_markdown(self.body).html
        super().save(*args, **kwargs)
