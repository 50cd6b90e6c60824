"""Account workflows allauth lacks: username reminder, preferences and unsubscribe links, the
data export and erasure."""

import uuid
from dataclasses import dataclass

from allauth.account import app_settings as allauth_settings
from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from policy.models import Acceptance, Choice, ContactMessage, Notice

from ..models import Erasure, PreferenceChange, Subscription, Topic


def username_reminder_send(*, request: HttpRequest, email: str) -> None:
    """Email the usernames of the active accounts that verified `email`, at that verified
    address as it is stored (not as it was typed).

    When none does, the visitor gets the same answer, and (following allauth's
    ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS) the address gets a note that no account uses it, so
    both paths send exactly one message.
    """
    addresses = (
        EmailAddress.objects.filter(email__iexact=email, verified=True, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
    )
    addresses = list(addresses)
    users = [address.user for address in addresses]
    adapter = get_adapter(request)
    if users:
        adapter.send_mail(
            "account/email/username_reminder",
            addresses[0].email,  # the address as verified, not as typed ("ALICE@Example.com")
            {
                "usernames": [user.get_username() for user in users],
                "login_url": request.build_absolute_uri(reverse("account_login")),
                "password_reset_url": request.build_absolute_uri(reverse("account_reset_password")),
            },
        )
    elif allauth_settings.EMAIL_UNKNOWN_ACCOUNTS:
        adapter.send_mail(
            "account/email/unknown_account",
            email,
            {"signup_url": request.build_absolute_uri(reverse("account_signup"))},
        )


def confirmation_resend(*, request: HttpRequest, email: str, user_id: int | None) -> None:
    """Send the signup's confirmation link again, or, when the address was taken at signup,
    the "you already have an account" note again: one email either way, as at signup."""
    address = (
        EmailAddress.objects.filter(user_id=user_id, email__iexact=email, verified=False).first()
        if user_id
        else None
    )
    if address is not None:
        address.send_confirmation(request, signup=True)
    elif user_id is None:
        get_adapter(request).send_account_already_exists_mail(email)
    # else: confirmed already; the page says so


def email_address_trust(*, user) -> EmailAddress | None:
    """Record `user`'s address as verified and primary, with no confirmation mail.

    Only for accounts made by whoever runs the server (createsuperuser). Returns None when
    the account has no address.
    """
    if not user.email:
        return None
    address, _ = EmailAddress.objects.update_or_create(
        user=user, email__iexact=user.email, defaults={"email": user.email, "verified": True}
    )
    address.set_as_primary()
    return address


# Preferences: the current state and the ledger change together, in one transaction.

UNSUBSCRIBE_SALT = "accounts.unsubscribe"


@transaction.atomic
def preference_set(
    *,
    user,
    topic: Topic,
    opted_in: bool,
    method: str,
    ip_address: str | None,
    user_agent: str,
    record_unchanged: bool = False,
) -> bool:
    """Turn `topic` on or off for `user`; returns whether anything changed.

    A change is recorded in the ledger; no change is recorded only with `record_unchanged`
    (Global Privacy Control puts its answer on record even where it was already the state).
    """
    subscription, _ = Subscription.objects.select_for_update().get_or_create(user=user, topic=topic)
    changed = subscription.opted_in != opted_in
    if not changed and not record_unchanged:
        return False  # no change, nothing to record (everything starts off)
    if changed:
        subscription.opted_in = opted_in
        subscription.updated_at = timezone.now()
        subscription.save(update_fields=["opted_in", "updated_at"])
    PreferenceChange.objects.create(
        user=user,
        topic=topic,
        opted_in=opted_in,
        method=method,
        ip_address=ip_address,
        user_agent=user_agent[:512],
    )
    return changed


def unsubscribe_token(*, user, topic: Topic) -> str:
    """A signed token naming a person and a topic; it never expires, as RFC 8058 links must work."""
    return signing.dumps({"u": user.pk, "t": topic.slug}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str):
    """(user, topic) from a token, or None when it was tampered with or names nothing."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        user = get_user_model().objects.get(pk=data["u"])
        topic = Topic.objects.get(slug=data["t"])
    except (signing.BadSignature, KeyError, TypeError, ObjectDoesNotExist):
        return None
    return user, topic


# Your data: everything the site holds about a person, and deleting it.


def account_export(*, user) -> dict:
    """Everything the site holds about `user`, as plain data for a JSON download."""

    def when(value):
        return value.isoformat() if value else None

    return {
        "exported_at": when(timezone.now()),
        "account": {
            "username": user.get_username(),
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": when(user.date_joined),
            "last_login": when(user.last_login),
            "email_addresses": [
                {"email": e.email, "verified": e.verified, "primary": e.primary}
                for e in EmailAddress.objects.filter(user=user).order_by("pk")
            ],
        },
        "sessions": [
            {
                "ip": s.ip,
                "user_agent": s.user_agent,
                "created_at": when(s.created_at),
                "last_seen_at": when(s.last_seen_at),
            }
            for s in UserSession.objects.filter(user=user).order_by("created_at")
        ],  # fmt: skip
        "policy_acceptances": [
            {
                "document": a.version.document.slug,
                "version": a.version.number,
                "sha256": a.version_sha256,
                "accepted_at": when(a.accepted_at),
                "method": a.method,
                "ip": a.ip_address,
                "user_agent": a.user_agent,
            }
            for a in Acceptance.objects.for_user(user)
        ],  # fmt: skip
        "choices": [
            {
                "purpose": c.purpose,
                "allowed": c.allowed,
                "version": c.version.number,
                "chosen_at": when(c.chosen_at),
                "method": c.method,
                "ip": c.ip_address,
                "user_agent": c.user_agent,
            }
            for c in Choice.objects.for_user(user)
        ],  # fmt: skip
        "preferences": [
            {"topic": s.topic.slug, "opted_in": s.opted_in, "updated_at": when(s.updated_at)}
            for s in Subscription.objects.filter(user=user).select_related("topic")
        ],
        "preference_changes": [
            {
                "topic": c.topic.slug,
                "opted_in": c.opted_in,
                "changed_at": when(c.changed_at),
                "method": c.method,
                "ip": c.ip_address,
                "user_agent": c.user_agent,
            }
            for c in PreferenceChange.objects.filter(user=user).select_related("topic")
        ],  # fmt: skip
        "notices": [
            {
                "about": str(n.about),
                "status": n.status,
                "email": n.email,
                "sent_at": when(n.sent_at),
            }
            for n in Notice.objects.filter(user=user).select_related(
                "version__document", "incident"
            )
        ],  # fmt: skip
        "contact_messages": [
            {
                "subject": m.subject,
                "message": m.message,
                "name": m.name,
                "email": m.email,
                "sent_at": when(m.created_at),
                "status": m.status,
                "ip": m.ip_address,
            }
            for m in ContactMessage.objects.filter(user=user)
        ],
        # Which second factors exist, never their secrets: a download must not copy them.
        "two_factor": [
            {
                "type": a.type,
                "created_at": when(a.created_at),
                "last_used_at": when(a.last_used_at),
            }
            for a in Authenticator.objects.filter(user=user).order_by("pk")
        ],
    }


@dataclass(frozen=True)
class ErasurePlan:
    """What erasing a person deletes and what it keeps, counted, for the confirmation page."""

    email_addresses: int
    sessions: int
    second_factors: int
    preferences: int
    contact_messages: int
    acceptances: int
    choices: int
    preference_changes: int
    notices: int


def _their_messages(user) -> QuerySet:
    """Contact messages a person sent: signed in, or signed out from one of their addresses."""
    addresses = [
        user.email,
        *EmailAddress.objects.filter(user=user).values_list("email", flat=True),
    ]
    by_address = Q()
    for address in filter(None, addresses):
        by_address |= Q(email__iexact=address)
    return ContactMessage.objects.filter(Q(user=user) | by_address)


def account_erasure_plan(*, user) -> ErasurePlan:
    """Count what `account_erase` would delete and keep for `user`."""
    return ErasurePlan(
        email_addresses=EmailAddress.objects.filter(user=user).count(),
        sessions=UserSession.objects.filter(user=user).count(),
        second_factors=Authenticator.objects.filter(user=user).count(),
        preferences=Subscription.objects.filter(user=user).count(),
        contact_messages=_their_messages(user).count(),
        acceptances=Acceptance.objects.filter(user=user).count(),
        choices=Choice.objects.filter(user=user).count(),
        preference_changes=PreferenceChange.objects.filter(user=user).count(),
        notices=Notice.objects.filter(user=user).count(),
    )


@transaction.atomic
def account_erase(*, user, by=None) -> Erasure:
    """Erase `user`: delete their personal data, keep the evidence without saying who it was.

    The one erasure, whoever asks: the person deleting their account (`by` None), or staff in
    the admin. The account, its addresses, sessions, second factors, preferences and contact
    messages are deleted. Ledger records (acceptances, choices, preference changes) and notices
    are kept under one random subject id, without IP address, browser or email address, so
    "someone accepted version 3 on this date" survives without saying who. The erasure itself
    is logged: when, how, by whom, and that subject id.
    """
    subject = uuid.uuid4()
    # Queryset updates on purpose: the ledger models refuse edits through save().
    for model in (Acceptance, Choice, PreferenceChange):
        model.objects.filter(user=user).update(
            user=None, subject_id=subject, ip_address=None, user_agent=""
        )
    notices = Notice.objects.filter(user=user)
    notices.filter(status__in=[Notice.Status.PENDING, Notice.Status.SENDING]).update(
        status=Notice.Status.CANCELLED
    )
    notices.update(user=None, subject_id=subject, email="", last_error="")
    _their_messages(user).delete()
    erasure = Erasure.objects.create(
        subject_id=subject,
        method=Erasure.Method.SELF if by is None else Erasure.Method.STAFF,
        erased_by=by,
    )
    user.delete()  # cascades: email addresses, sessions, second factors, subscriptions
    return erasure
