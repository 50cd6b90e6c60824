"""The outbox: notices created in bulk, then claimed, sent and recorded, each at most once.

Notices are claimed in small groups (pending -> sending) before their mail is sent, and
marked sent once the group is through, so concurrent workers never send the same notice and
a retried task skips what was sent. The mail itself goes out on the courier's thread, so the
wait for the mail server overlaps preparing the next messages. A worker killed outright
leaves at most IN_FLIGHT_MAX notices "sending"; `notices_recover_interrupted` reports them
instead of sending them a second time.
"""

from __future__ import annotations

import smtplib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import (
    INTERRUPTED,
    LEASE,
    Incident,
    Mailing,
    Notice,
    NoticeFanout,
    PolicyVersion,
    current_address,
)
from .courier import Courier, Outcome
from .messages import notice_context, notice_message

MAX_ATTEMPTS = 5
CLAIM_SIZE = 25  # notices claimed, and their outcomes recorded, together
IN_FLIGHT_MAX = 2 * CLAIM_SIZE  # one group being sent while the next is prepared
# What delivery reads of a notice (messages use the person's username and id, as now).
SENDING_READS = (
    "version",
    "incident",
    "mailing",
    "user",
    "subject_id",
    "status",
    "attempts",
    "email",
)
COURIERS = 3  # threads sending at once, each over its own connection to the mail server


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
    next_attempt_at: datetime | None = None  # of the first notice still pending
    sending_since: datetime | None = None  # when the oldest notice still "sending" was claimed
    errors: list[str] = field(default_factory=list)


def notices_deliver(
    *,
    limit: int | None = None,
    couriers: int = COURIERS,
    per_connection: int = 100,
    progress: Callable[[str], None] | None = None,
) -> DeliveryReport:
    """Send due notices until none is left (or `limit` were handled).

    Notices are claimed CLAIM_SIZE at a time. While `couriers` threads send one group, each over
    its own connection, the next group is claimed and prepared; a group's outcomes are recorded
    together once it is through. So at most IN_FLIGHT_MAX notices are "sending" at any moment:
    all that a worker killed outright can leave unknown. After an error, the claimed notices
    that never reached the mail server go back in the queue.
    """
    report = DeliveryReport(interrupted=notices_recover_interrupted())
    courier = Courier([get_connection() for _ in range(couriers)], per_connection=per_connection)
    with _Delivery(report, progress, courier) as delivery:
        handled = 0
        while limit is None or handled < limit:
            delivery.settle(keep=1)  # the group before last is through: record it
            group = _claim(CLAIM_SIZE if limit is None else min(CLAIM_SIZE, limit - handled))
            if not group:
                break
            handled += len(group)
            delivery.send(group)
    report.next_attempt_at = (
        Notice.objects.filter(status=Notice.Status.PENDING)
        .order_by("next_attempt_at")  # the index on (status, next_attempt_at)
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    sending = Notice.objects.filter(status=Notice.Status.SENDING)  # a few, by the same index
    report.sending_since = sending.aggregate(since=Min("claimed_at"))["since"]
    return report


def notices_recover_interrupted(*, lease: timedelta = LEASE) -> int:
    """Mark notices stuck in "sending" (their worker died) as failed, for a person to check."""
    return Notice.objects.filter(
        status=Notice.Status.SENDING, claimed_at__lt=timezone.now() - lease
    ).update(status=Notice.Status.FAILED, last_error=INTERRUPTED)


class NoAddress(Exception):
    """The person has no verified address any more: nothing can be sent, now or later."""


def notices_requeue(*, notices: QuerySet) -> int:
    """Put failed notices back in the queue, to be sent again."""
    return notices.filter(status=Notice.Status.FAILED).update(
        status=Notice.Status.PENDING, next_attempt_at=timezone.now(), attempts=0
    )


def _claim(size: int) -> list[Notice]:
    """Claim up to `size` due notices for this worker (pending -> sending), the longest due
    first, with their people. Each is addressed as it is claimed: `email` is where it goes.

    Two workers never claim the same notice: on PostgreSQL the rows are locked and the other
    worker skips them; SQLite writes one transaction at a time.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Notice.objects.due(now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at")  # the order of the index on (status, next_attempt_at)
            .values_list("pk", flat=True)[:size]
        )
        Notice.objects.filter(pk__in=ids).update(
            status=Notice.Status.SENDING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            email=Coalesce(current_address(), Value("")),
        )
    # Only what sending reads: on SQLite each date a row carries is parsed from text, and
    # loading the rest cost as much as the claim itself.
    username = f"user__{get_user_model().USERNAME_FIELD}"
    return list(
        Notice.objects.filter(pk__in=ids)
        .select_related("user")
        .only(*SENDING_READS, username)
        .order_by("next_attempt_at")
    )


class _Delivery:
    """The notices this worker claimed, from preparing their mail to recording how it went."""

    def __init__(self, report: DeliveryReport, progress, courier: Courier):
        self.report, self.progress, self.courier = report, progress, courier
        self.contexts: dict[tuple[str, int], dict] = {}  # what all notices about one thing share
        self.groups: deque[list[Notice]] = deque()  # handed over, outcomes not yet recorded
        self.through: dict[int, Outcome] = {}  # outcomes back from the courier, by notice
        self.unsent: dict[int, Notice] = {}  # claimed, and the mail server never saw them

    def __enter__(self):
        return self

    def send(self, group: list[Notice]) -> None:
        """Prepare each claimed notice's mail and hand it to the courier."""
        self.unsent.update((notice.pk, notice) for notice in group)
        handed: list[Notice] = []
        self.groups.append(handed)  # now: an error below must still settle what went out
        for notice in group:
            message = self._prepare(notice)
            del self.unsent[notice.pk]
            if message is not None:
                self.courier.hand_over(notice, message)
                handed.append(notice)

    def settle(self, *, keep: int) -> None:
        """Wait until every group but the newest `keep` is through, and record them."""
        while len(self.groups) > keep:
            group = self.groups.popleft()
            while any(notice.pk not in self.through for notice in group):
                outcome = self.courier.outcome()
                self.through[outcome.item.pk] = outcome
            self._record([self.through.pop(notice.pk) for notice in group])

    def __exit__(self, error_type, error, traceback) -> None:
        """Send what is queued; after an error, stop at once instead. Either way, record every
        outcome and put back what the mail server never saw."""
        self.courier.stop(at_once=error_type is not None)
        try:
            self.settle(keep=0)
        finally:
            self._release()

    def _prepare(self, notice: Notice) -> EmailMultiAlternatives | None:
        """The notice's email, or None when it is settled here (cancelled, or cannot go)."""
        key = _about(notice)
        if key not in self.contexts:
            self.contexts[key] = notice_context(*key)
        shared = self.contexts[key]
        if key[0] == "mailing" and (shared["list"] is None or not shared["list"].has(notice.user)):
            # Topic mail goes only to people still on the list at the moment it is sent.
            Notice.objects.filter(pk=notice.pk).update(
                status=Notice.Status.CANCELLED,
                last_error="Not sent: the person left the list before it went out.",
            )
            self.report.cancelled += 1
            self._progress("cancelled")
            return None
        try:
            if not notice.email:
                raise NoAddress("The person has no verified email address any more.")
            return notice_message(notice, shared, address=notice.email)
        except Exception as error:  # retried like a failure to send, then reported
            self._progress(_failed(notice, error, report=self.report))
            return None

    def _record(self, outcomes: list[Outcome]) -> None:
        """Record a group's outcomes: the sent ones in one statement, each failure on its own.

        A message the courier never sent goes back in the queue. One it had in hand when the
        process began to end (a fatal outcome) stays "sending", since nobody knows; that end
        is then raised here, in the worker's own thread.
        """
        sent = [outcome.item for outcome in outcomes if outcome.delivered]
        if sent:
            Notice.objects.filter(pk__in=[notice.pk for notice in sent]).update(
                status=Notice.Status.SENT, sent_at=timezone.now(), last_error=""
            )
            self.report.sent += len(sent)
        fatal = None
        for outcome in outcomes:
            if not outcome.sent:
                self.unsent[outcome.item.pk] = outcome.item
            elif outcome.delivered:
                self._progress("sent")
            elif outcome.fatal:
                fatal = fatal or outcome.error
            else:
                self._progress(_failed(outcome.item, outcome.error, report=self.report))
        if fatal is not None:
            raise fatal

    def _release(self) -> None:
        """Put claimed notices that never reached the mail server back in the queue."""
        if self.unsent:
            Notice.objects.filter(pk__in=list(self.unsent), status=Notice.Status.SENDING).update(
                status=Notice.Status.PENDING, attempts=F("attempts") - 1
            )
            self.unsent.clear()

    def _progress(self, outcome: str) -> None:
        if self.progress:
            self.progress(outcome)


def _about(notice: Notice) -> tuple[str, int]:
    if notice.version_id:
        return "version", notice.version_id
    if notice.incident_id:
        return "incident", notice.incident_id
    return "mailing", notice.mailing_id


def _failed(notice: Notice, error: Exception, *, report: DeliveryReport) -> str:
    """Retry what may work later (4xx, a connection error); give up at once on a refusal."""
    permanent = _refusal(error)
    message = (permanent or _for_now(error))[:2000]
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


def _for_now(error: Exception) -> str:
    """Why a send that may work later failed, in words staff can pass on, with the error's name
    for whoever runs the mail server."""
    name = type(error).__name__
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = "; ".join(f"{code} {_text(text)}" for code, text in error.recipients.values())
        return f"The mail server asked to try again later: {answers}"
    if isinstance(error, smtplib.SMTPResponseException):
        return (
            f"The mail server asked to try again later: {error.smtp_code} {_text(error.smtp_error)}"
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"The mail server closed the connection ({name}: {error})"
    if isinstance(error, ConnectionRefusedError):
        return f"Could not reach the mail server: it refused the connection ({name})"
    if isinstance(error, TimeoutError):
        return f"Could not reach the mail server: it did not answer in time ({name})"
    if isinstance(error, OSError):
        return f"Could not reach the mail server ({name}: {error})"
    return f"{name}: {error}"


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
