"""Breach notices: sending an incident's notice, once, to the audience staff chose."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..delivery.outbox import notices_create
from ..models import Incident
from ..tasks import deliver_policy_notices


@transaction.atomic
def incident_send(
    *, incident: Incident, users: QuerySet, by: AbstractBaseUser, audience: str
) -> int:
    """Queue a breach notice to `users` (verified, active) and seal the incident as sent."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.sent_at is not None:
        raise ValidationError("This notice was already sent.")
    count = notices_create(incident=incident, users=users)
    incident.audience, incident.sent_by, incident.sent_at = audience, by, timezone.now()
    incident.save(update_fields=["audience", "sent_by", "sent_at"])
    transaction.on_commit(lambda: deliver_policy_notices.enqueue())
    return count
