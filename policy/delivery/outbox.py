"""The outbox: notices created in bulk, then claimed and sent one at a time, at most once.

Each notice is claimed with a conditional UPDATE (pending -> sending) before its mail is sent,
and marked sent right after, so concurrent workers never send the same notice and a retried
task skips what was sent. A worker killed mid-send leaves one notice "sending";
`notices_recover_interrupted` reports it instead of sending it a second time.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.mail import get_connection
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from ..models import Incident, Mailing, Notice, NoticeFanout, PolicyVersion
from .messages import notice_context, notice_send

MAX_ATTEMPTS = 5
INTERRUPTED = (
    "The worker stopped while sending, so delivery is unknown. It is not retried "
    "automatically, because a retry could send it twice: check the mail log, then requeue it."
)


def notice_recipients(users: QuerySet | None = None) -> QuerySet:
    """Active users with a verified email address (out of `users`, when given)."""
    users = get_user_model().objects.all() if users is None else users
    return users.filter(is_active=True).filter(
        Exists(EmailAddress.objects.filter(user=OuterRef("pk"), verified=True))
    )


def notices_create(
    *,
    version: PolicyVersion | None = None,
    incident: Incident | None = None,
    mailing: Mailing | None = None,
    users: QuerySet | None = None,
    batch_size: int = 2000,
) -> int:
    """One pending notice per recipient (every verified, active user unless `users` narrows it).

    Safe to repeat: the unique constraints make a second run add nothing.
    """
    recipients = notice_recipients(users)
    about = {
        name: thing
        for name, thing in (("version", version), ("incident", incident), ("mailing", mailing))
        if thing is not None
    }
    last_pk = 0
    while True:  # keyset pages keep memory flat however many users there are
        ids = list(
            recipients.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        Notice.objects.bulk_create(
            [Notice(user_id=pk, **about) for pk in ids], ignore_conflicts=True
        )
        last_pk = ids[-1]
    return Notice.objects.filter(**about).count()


def fanout_finish(*, version: PolicyVersion) -> int:
    """Create every notice of a published material version, and record that it is done."""
    count = notices_create(version=version)
    NoticeFanout.objects.filter(version=version, completed_at__isnull=True).update(
        completed_at=timezone.now()
    )
    return count


def fanouts_finish() -> int:
    """Finish the fan-outs nobody finished (no worker ran the task); returns notices created."""
    return sum(
        fanout_finish(version=fanout.version)
        for fanout in NoticeFanout.objects.unfinished().select_related("version")
    )


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    interrupted: int = 0
    next_attempt_at: datetime | None = None
    errors: list[str] = field(default_factory=list)


def notices_deliver(
    *,
    limit: int | None = None,
    batch_size: int = 100,
    progress: Callable[[str], None] | None = None,
) -> DeliveryReport:
    """Send due notices until none is left (or `limit` were handled)."""
    report = DeliveryReport(interrupted=notices_recover_interrupted())
    handled = 0
    contexts: dict[tuple[str, int], dict] = {}  # the part of each email that all notices share
    connection = get_connection()
    while limit is None or handled < limit:
        size = batch_size if limit is None else min(batch_size, limit - handled)
        ids = list(Notice.objects.due().order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            break
        # Each notice with its person and address, for the whole batch in one query; a notice
        # is still claimed on its own, just before it is sent. One connection to the mail
        # server per batch (opened at its first message), not one per message; a failure
        # closes it and the next message opens a fresh one.
        notices = Notice.objects.select_related("user").with_address().in_bulk(ids)
        for notice in (notices[pk] for pk in ids if pk in notices):
            outcome = _deliver_one(notice, connection=connection, report=report, contexts=contexts)
            if outcome is None:
                continue  # another worker claimed it first
            handled += 1
            if progress:
                progress(outcome)
        connection.close()
    report.next_attempt_at = (
        Notice.objects.filter(status=Notice.Status.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return report


def notices_recover_interrupted(*, lease: timedelta = timedelta(minutes=15)) -> int:
    """Mark notices stuck in "sending" (their worker died) as failed, for a person to check."""
    return Notice.objects.filter(
        status=Notice.Status.SENDING, claimed_at__lt=timezone.now() - lease
    ).update(status=Notice.Status.FAILED, last_error=INTERRUPTED)


class NoAddress(Exception):
    """The person has no verified address any more: nothing can be sent, now or later."""


def notices_requeue(*, notices: QuerySet) -> int:
    """Put failed notices back in the queue, after a person has checked they were not sent."""
    return notices.filter(status=Notice.Status.FAILED).update(
        status=Notice.Status.PENDING, next_attempt_at=timezone.now(), attempts=0
    )


def _deliver_one(
    notice: Notice, *, connection, report: DeliveryReport, contexts: dict
) -> str | None:
    now, pk = timezone.now(), notice.pk
    claimed = (
        Notice.objects.due(now)
        .filter(pk=pk)
        .update(status=Notice.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    notice.attempts += 1  # as the claim just counted it
    key = _about(notice)
    if key not in contexts:
        contexts[key] = notice_context(*key)
    if key[0] == "mailing":
        shared_list = contexts[key]["list"]
        if shared_list is None or not shared_list.has(notice.user):
            # Topic mail goes only to people still on the list at the moment it is sent.
            Notice.objects.filter(pk=pk).update(
                status=Notice.Status.CANCELLED,
                last_error="Not sent: the person left the list before it went out.",
            )
            report.cancelled += 1
            return "cancelled"
    try:
        if notice.address is None:
            raise NoAddress("The person has no verified email address any more.")
        connection.open()  # no-op while open; its errors count as this notice's send failing
        notice_send(notice, contexts[key], address=notice.address, connection=connection)
    except Exception as error:  # any failure to hand over the mail is retried, then reported
        connection.close()
        return _failed(notice, error, report=report)
    Notice.objects.filter(pk=pk).update(
        status=Notice.Status.SENT, sent_at=timezone.now(), email=notice.address, last_error=""
    )
    report.sent += 1
    return "sent"


def _about(notice: Notice) -> tuple[str, int]:
    if notice.version_id:
        return "version", notice.version_id
    if notice.incident_id:
        return "incident", notice.incident_id
    return "mailing", notice.mailing_id


def _failed(notice: Notice, error: Exception, *, report: DeliveryReport) -> str:
    """Retry what may work later (4xx, a connection error); give up at once on a refusal."""
    permanent = _refusal(error)
    message = (permanent or f"{type(error).__name__}: {error}")[:2000]
    report.errors.append(f"{notice}: {message}")
    if permanent or notice.attempts >= MAX_ATTEMPTS:
        Notice.objects.filter(pk=notice.pk).update(status=Notice.Status.FAILED, last_error=message)
        report.failed += 1
        return "failed"
    delay = timedelta(minutes=4 ** (notice.attempts - 1))  # 1, 4, 16, 64 minutes
    Notice.objects.filter(pk=notice.pk).update(
        status=Notice.Status.PENDING, last_error=message,
        next_attempt_at=timezone.now() + delay,
    )  # fmt: skip
    report.retrying += 1
    return "retrying"


def _refusal(error: Exception) -> str | None:
    """The server's answer when it refused the message for good (an SMTP 5xx), else None."""
    if isinstance(error, NoAddress):
        return str(error)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        if answers and all(code >= 500 for code, _ in answers):
            return "The mail server refused it: " + "; ".join(
                f"{code} {_text(text)}" for code, text in answers
            )
    elif isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500:
        return f"The mail server refused it: {error.smtp_code} {_text(error.smtp_error)}"
    return None


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
