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
    # The text in force now, unless the answer is about a version that is not in force yet.
    current = PolicyVersion.objects.filter(document_id=latest.version.document_id).current()
    version = max(filter(None, [current, latest.version]), key=lambda v: v.number)
    return Choice.objects.create(
        user=user,
        version=version,
        version_sha256=version.sha256,
        new_use=latest.new_use,
        purpose=purpose,
        allowed=allowed,
        method=method,
        ip_address=ip_address,
        user_agent=user_agent[:512],
    )
