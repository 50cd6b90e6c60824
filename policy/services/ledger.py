"""The consent ledger's workflows: recording an acceptance, a review with its answers, and a
changed answer."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Acceptance, Choice, NewUse, PolicyVersion


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


@transaction.atomic
def choice_change(
    *,
    user: AbstractBaseUser,
    purpose: str,
    allowed: bool,
    method: str,
    ip_address: str | None,
    user_agent: str,
) -> Choice | None:
    """Record `user`'s new answer about `purpose`, a use they were asked about before.

    Withdrawing is as easy as allowing: either is one new ledger record, under the policy
    version in force now (or the scheduled one the answer was about). Returns None, recording
    nothing, when the answer is unchanged.
    """
    latest = (
        Choice.objects.filter(user=user, purpose=purpose)
        .select_related("new_use", "version")
        .order_by("-chosen_at", "-pk")
        .first()
    )
    if latest is None:
        raise ValidationError("You have not been asked about this use of your data.")
    if latest.allowed == allowed:
        return None
    return choice_record(
        user=user,
        new_use=latest.new_use,
        allowed=allowed,
        method=method,
        ip_address=ip_address,
        user_agent=user_agent,
        since=latest.version,
    )


def choice_record(
    *,
    user: AbstractBaseUser,
    new_use: NewUse,
    allowed: bool,
    method: str,
    ip_address: str | None,
    user_agent: str,
    since: PolicyVersion | None = None,
) -> Choice:
    """Record one answer about `new_use`, under the policy version in force now.

    If the use (or `since`, the version of the answer it replaces) is not in force yet, the
    answer is recorded under that scheduled version instead.
    """
    asked_in = since or new_use.version
    current = PolicyVersion.objects.filter(document_id=asked_in.document_id).current()
    version = max(filter(None, [current, asked_in, new_use.version]), key=lambda v: v.number)
    return Choice.objects.create(
        user=user,
        version=version,
        version_sha256=version.sha256,
        new_use=new_use,
        purpose=new_use.purpose,
        allowed=allowed,
        method=method,
        ip_address=ip_address,
        user_agent=user_agent[:512],
    )
