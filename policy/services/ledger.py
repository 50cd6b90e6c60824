"""The consent ledger's workflows: recording an acceptance, and a review with its answers."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
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
