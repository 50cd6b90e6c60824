"""Write workflows for policy versions: numbering drafts, copying and publishing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from .caching import document_state_forget
from .models import (
    Acceptance,
    Choice,
    ContactMessage,
    Document,
    Incident,
    NewUse,
    PolicyNotice,
    PolicyVersion,
)


@transaction.atomic
def version_draft_save(*, version: PolicyVersion, by: AbstractBaseUser | None) -> PolicyVersion:
    """Save a draft, giving a new one the next number of its document."""
    if version.pk is None:
        # Lock the document row so two drafts created at once cannot take the same number.
        Document.objects.select_for_update().get(pk=version.document_id)
        highest = version.document.versions.aggregate(n=Max("number"))["n"] or 0
        version.number = highest + 1
        version.created_by = by
    version.save()
    return version


@transaction.atomic
def version_copy_to_draft(*, source: PolicyVersion, by: AbstractBaseUser | None) -> PolicyVersion:
    """Start a new draft from the text of an existing version."""
    draft = PolicyVersion(
        document=source.document, title=source.title, body=source.body, summary=""
    )
    return version_draft_save(version=draft, by=by)


@transaction.atomic
def version_publish(
    *,
    version: PolicyVersion,
    by: AbstractBaseUser | None,
    at: datetime | None = None,
    override_reason: str = "",
) -> PolicyVersion:
    """Publish a draft: it becomes part of the public record and takes effect at effective_at.

    Publishing locks the document, so concurrent publishes get distinct numbers and the
    versions' effective times never run backwards. A material version needs
    POLICY_NOTICE_DAYS of notice, unless someone allowed to records why not; publishing it
    queues one email notice per person once the transaction commits.
    """
    Document.objects.select_for_update().get(pk=version.document_id)
    # Read the clock only once the lock is ours: a publish that waited for another one must
    # not take effect before the version that committed first.
    now = at or timezone.now()
    version.refresh_from_db()
    if version.is_published:
        raise ValidationError("This version is already published.")
    if not version.summary.strip():
        raise ValidationError({"summary": "Write a summary of the changes before publishing."})
    if version.effective_at is None:
        version.effective_at = now
    published = PolicyVersion.objects.filter(document_id=version.document_id).published()
    latest = published.order_by("-number").first()
    if latest is not None and version.effective_at < latest.effective_at:
        raise ValidationError(
            {
                "effective_at": (
                    f"Version {latest.number} takes effect on "
                    f"{date_format(timezone.localtime(latest.effective_at), 'DATETIME_FORMAT')}; "
                    "a newer version cannot take effect before it."
                )
            }
        )
    if version.is_material:
        _check_notice_period(version=version, by=by, now=now, override_reason=override_reason)
    if latest is not None and latest.number > version.number:
        # A later draft was published first: keep numbers in publication order.
        highest = PolicyVersion.objects.filter(document_id=version.document_id).aggregate(
            n=Max("number")
        )["n"]
        version.number = highest + 1
    version.published_at = now
    version.published_by = by
    version.save()
    transaction.on_commit(lambda: document_state_forget(version.document.slug))
    if version.is_material:
        from .tasks import create_policy_notices

        transaction.on_commit(lambda: create_policy_notices.enqueue(version.pk))
    return version


def _check_notice_period(
    *, version: PolicyVersion, by: AbstractBaseUser | None, now: datetime, override_reason: str
) -> None:
    """A material change needs POLICY_NOTICE_DAYS of notice, or a recorded, permitted override."""
    if not version.summary.strip():
        raise ValidationError({"summary": "A material change needs a summary of the changes."})
    needed = timedelta(days=settings.POLICY_NOTICE_DAYS)
    if version.effective_at - now >= needed:
        return
    if not override_reason.strip():
        earliest = date_format(timezone.localtime(now + needed), "DATETIME_FORMAT")
        raise ValidationError(
            {
                "effective_at": (
                    f"A material change needs {settings.POLICY_NOTICE_DAYS} days' notice: make it "
                    f"take effect on or after {earliest}, or record why it cannot wait."
                )
            }
        )
    if by is not None and not by.has_perm("policy.override_notice_period"):
        raise ValidationError("You are not allowed to shorten the notice period.")
    version.notice_override_reason = override_reason.strip()
    version.notice_overridden_by = by


def acceptance_record(
    *,
    user: AbstractBaseUser,
    version: PolicyVersion,
    method: str,
    ip_address: str | None,
    user_agent: str,
) -> Acceptance:
    """Record that `user` accepted exactly this version's text."""
    return Acceptance.objects.create(
        user=user,
        version=version,
        version_sha256=version.sha256,
        method=method,
        ip_address=ip_address,
        user_agent=user_agent[:512],
    )


@transaction.atomic
def review_submit(
    *,
    user: AbstractBaseUser,
    version: PolicyVersion,
    answers: dict[NewUse, bool],
    method: str,
    ip_address: str | None,
    user_agent: str,
) -> Acceptance:
    """Record that `user` accepted `version`, and their answer about each new use."""
    acceptance = acceptance_record(
        user=user, version=version, method=method, ip_address=ip_address, user_agent=user_agent
    )
    Choice.objects.bulk_create(
        Choice(
            user=user,
            version=version,
            version_sha256=version.sha256,
            new_use=use,
            purpose=use.purpose,
            allowed=allowed,
            chosen_at=acceptance.accepted_at,
            method=method,
            ip_address=ip_address,
            user_agent=user_agent[:512],
        )
        for use, allowed in answers.items()
    )
    return acceptance


# Notices of material changes: created in bulk, then claimed and sent one at a time.

MAX_ATTEMPTS = 5
INTERRUPTED = (
    "The worker stopped while sending, so delivery is unknown. It is not retried "
    "automatically, because a retry could send it twice: check the mail log, then requeue it."
)


def notice_recipients(users=None):
    """Active users with a verified email address (out of `users`, when given)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.db.models import Exists, OuterRef

    users = get_user_model().objects.all() if users is None else users
    return users.filter(is_active=True).filter(
        Exists(EmailAddress.objects.filter(user=OuterRef("pk"), verified=True))
    )


def notices_create(
    *,
    version: PolicyVersion | None = None,
    incident: Incident | None = None,
    users=None,
    batch_size: int = 2000,
) -> int:
    """One pending notice per recipient (every verified, active user unless `users` narrows it).

    Safe to repeat: the unique constraints make a second run add nothing.
    """
    recipients = notice_recipients(users)
    about = {"version": version} if version is not None else {"incident": incident}
    last_pk = 0
    while True:  # keyset pages keep memory flat however many users there are
        ids = list(
            recipients.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        PolicyNotice.objects.bulk_create(
            [PolicyNotice(user_id=pk, **about) for pk in ids], ignore_conflicts=True
        )
        last_pk = ids[-1]
    return PolicyNotice.objects.filter(**about).count()


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    interrupted: int = 0
    next_attempt_at: datetime | None = None
    errors: list[str] = field(default_factory=list)


def notices_deliver(
    *, limit: int | None = None, batch_size: int = 100, progress=None
) -> DeliveryReport:
    """Send due notices until none is left (or `limit` were handled).

    Each notice is claimed with a conditional UPDATE (pending -> sending) before its mail is
    sent, and marked sent right after, so concurrent workers never send the same notice and a
    retried task skips what was sent. A worker killed mid-send leaves one notice "sending";
    notices_recover_interrupted() reports it instead of sending it a second time.
    """
    from django.core.mail import get_connection

    report = DeliveryReport(interrupted=notices_recover_interrupted())
    handled = 0
    contexts: dict[int, dict] = {}  # the part of each version's email that all share
    connection = get_connection()
    while limit is None or handled < limit:
        size = batch_size if limit is None else min(batch_size, limit - handled)
        ids = list(PolicyNotice.objects.due().order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            break
        for pk in ids:
            outcome = _notice_deliver(pk, connection=connection, report=report, contexts=contexts)
            if outcome is None:
                continue  # another worker claimed it first
            handled += 1
            if progress:
                progress(outcome)
    connection.close()
    report.next_attempt_at = (
        PolicyNotice.objects.filter(status=PolicyNotice.Status.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return report


def notices_recover_interrupted(*, lease: timedelta = timedelta(minutes=15)) -> int:
    """Mark notices stuck in "sending" (their worker died) as failed, for a person to check."""
    return PolicyNotice.objects.filter(
        status=PolicyNotice.Status.SENDING, claimed_at__lt=timezone.now() - lease
    ).update(status=PolicyNotice.Status.FAILED, last_error=INTERRUPTED)


def notices_requeue(*, notices) -> int:
    """Put failed notices back in the queue, after a person has checked they were not sent."""
    return notices.filter(status=PolicyNotice.Status.FAILED).update(
        status=PolicyNotice.Status.PENDING, next_attempt_at=timezone.now(), attempts=0
    )


def _notice_deliver(pk: int, *, connection, report: DeliveryReport, contexts: dict) -> str | None:
    from allauth.account.models import EmailAddress
    from django.db.models import OuterRef, Subquery

    now = timezone.now()
    claimed = (
        PolicyNotice.objects.due(now)
        .filter(pk=pk)
        .update(status=PolicyNotice.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    address = (
        EmailAddress.objects.filter(user=OuterRef("user"), verified=True)
        .order_by("-primary", "pk")
        .values("email")[:1]
    )
    notice = (
        PolicyNotice.objects.select_related("user").annotate(address=Subquery(address)).get(pk=pk)
    )
    key = ("version", notice.version_id) if notice.version_id else ("incident", notice.incident_id)
    if key not in contexts:
        contexts[key] = _notice_context(*key)
    try:
        if notice.address is None:
            raise ValueError("the user has no verified email address any more")
        _notice_send(notice, contexts[key], connection=connection)
    except Exception as error:  # any failure to hand over the mail is retried, then reported
        connection.close()
        return _notice_failed(notice, error, report=report)
    PolicyNotice.objects.filter(pk=pk).update(
        status=PolicyNotice.Status.SENT, sent_at=timezone.now(), email=notice.address, last_error=""
    )
    report.sent += 1
    return "sent"


def _notice_failed(notice: PolicyNotice, error: Exception, *, report: DeliveryReport) -> str:
    message = f"{type(error).__name__}: {error}"[:2000]
    report.errors.append(f"{notice}: {message}")
    if notice.attempts >= MAX_ATTEMPTS:
        PolicyNotice.objects.filter(pk=notice.pk).update(
            status=PolicyNotice.Status.FAILED, last_error=message
        )
        report.failed += 1
        return "failed"
    delay = timedelta(minutes=4 ** (notice.attempts - 1))  # 1, 4, 16, 64 minutes
    PolicyNotice.objects.filter(pk=notice.pk).update(
        status=PolicyNotice.Status.PENDING, last_error=message,
        next_attempt_at=timezone.now() + delay,
    )  # fmt: skip
    report.retrying += 1
    return "retrying"


def _notice_context(kind: str, pk: int) -> dict:
    """What every notice about one thing shares: the version and its links, or the incident."""
    common = {
        "site_name": settings.SITE_NAME,
        "message_domain": urlsplit(settings.SITE_URL).hostname,
    }
    if kind == "incident":
        incident = Incident.objects.get(pk=pk)
        return {**common, "template": "policy/email/incident", "incident": incident,
                "subject": incident.subject}  # fmt: skip
    version = PolicyVersion.objects.select_related("document").get(pk=pk)
    previous = PolicyVersion.objects.previous_to(version)
    slug = version.document.slug
    compare = (
        reverse("policy:compare", args=[slug, previous.number, version.number])
        if previous
        else version.get_absolute_url()
    )
    return {
        **common,
        "template": "policy/email/notice",
        "version": version,
        "new_uses": list(version.new_uses.all()),
        "review_url": settings.SITE_URL + reverse("policy:review", args=[slug]) + "?via=email",
        "compare_url": settings.SITE_URL + compare,
        "version_url": settings.SITE_URL + version.get_absolute_url(),
    }


def _notice_send(notice: PolicyNotice, shared: dict, *, connection) -> None:
    """Hand one notice to the mail server."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    context = {**shared, "user": notice.user}
    template = shared["template"]
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=f"[{settings.SITE_NAME}] {subject}",
        body=render_to_string(f"{template}_message.txt", context),
        to=[notice.address],
        connection=connection,
        # A stable Message-ID lets mail clients drop a copy that a person chose to requeue.
        headers={"Message-ID": f"<policy-notice-{notice.pk}@{shared['message_domain']}>"},
    )
    message.attach_alternative(render_to_string(f"{template}_message.html", context), "text/html")
    message.send()


@transaction.atomic
def incident_send(*, incident: Incident, users, by: AbstractBaseUser, audience: str) -> int:
    """Queue a breach notice to `users` (verified, active) and seal the incident as sent."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.sent_at is not None:
        raise ValidationError("This notice was already sent.")
    count = notices_create(incident=incident, users=users)
    incident.audience, incident.sent_by, incident.sent_at = audience, by, timezone.now()
    incident.save(update_fields=["audience", "sent_by", "sent_at"])
    from .tasks import deliver_policy_notices

    transaction.on_commit(lambda: deliver_policy_notices.enqueue())
    return count


def contact_message_receive(*, form_data: dict, user, ip_address: str | None) -> ContactMessage:
    """Store a contact message and, once it is saved, email it to the privacy team."""
    from django.core.mail import EmailMessage

    message = ContactMessage.objects.create(
        **form_data, user=user if user.is_authenticated else None, ip_address=ip_address
    )

    def notify_staff() -> None:
        EmailMessage(
            subject=f"[{settings.SITE_NAME} contact] {message.subject}",
            body=(
                f"From: {message.name} <{message.email}>\n"
                f"Account: {message.user or 'not signed in'}\n\n{message.message}\n\n"
                f"Handle it in the admin inbox: {settings.SITE_URL}"
                + reverse("admin:policy_contactmessage_change", args=[message.pk])
            ),
            to=[settings.PRIVACY_CONTACT_EMAIL],
            reply_to=[message.email],
        ).send()

    # Robust: the message is safe in the inbox even if the mail server is down.
    transaction.on_commit(notify_staff, robust=True)
    return message
