"""Breach notices: sending an incident's notice, once, to exactly the audience staff confirmed."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.template.defaultfilters import pluralize
from django.utils import timezone

from ..delivery.audience import Audience, AudienceChanged
from ..delivery.outbox import notice_recipients, notices_create
from ..models import Incident
from ..tasks import deliveries_enqueue


@transaction.atomic
def incident_send(
    *,
    incident: Incident,
    users: QuerySet | None,
    by: AbstractBaseUser | None,
    criteria: str,
    description: str,
    confirmed: Audience,
    unmatched: Iterable[str] = (),
) -> int:
    """Queue a breach notice to `users` (verified, active) and seal the incident as sent.

    `confirmed` is the audience staff were shown; if `criteria` and the recipients no longer
    give exactly that audience, nothing is sent and AudienceChanged says who they are now.
    """
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.sent_at is not None:
        raise ValidationError("This notice was already sent.")
    now = Audience.of(criteria, notice_recipients(users))
    if now != confirmed or not now.count:
        raise AudienceChanged(now)
    count = notices_create(incident=incident, users=users)
    incident.audience = f"{description}: {count} recipient{pluralize(count)}"
    incident.unmatched = "\n".join(unmatched)
    incident.sent_by, incident.sent_at = by, timezone.now()
    incident.save(update_fields=["audience", "unmatched", "sent_by", "sent_at"])
    transaction.on_commit(partial(deliveries_enqueue, count))
    return count
