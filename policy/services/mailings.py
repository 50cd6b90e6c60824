"""Topic mail: sending a message staff wrote, once, to exactly the list members they confirmed."""

from __future__ import annotations

from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone

from ..delivery.audience import Audience, AudienceChanged
from ..delivery.lists import mailing_list
from ..delivery.outbox import notice_recipients, notices_create
from ..models import Mailing
from ..tasks import deliveries_enqueue


def mailing_criteria(mailing: Mailing) -> str:
    """What a confirmation of this mail is bound to: its list, and the words it says."""
    return f"{mailing.list_key}\n{mailing.subject}\n{mailing.body}"


def mailing_audience(mailing: Mailing) -> Audience | None:
    """Who the mail would go to now (members with a verified address), or None: no such list."""
    found = mailing_list(mailing.list_key)
    if found is None:
        return None
    return Audience.of(mailing_criteria(mailing), notice_recipients(found.members()))


@transaction.atomic
def mailing_send(*, mailing: Mailing, by: AbstractBaseUser | None, confirmed: Audience) -> int:
    """Queue `mailing` to the members of its list, if they are exactly the ones confirmed.

    Each person gets it through the notices, once at most, and only if they are still on the
    list when their copy goes out.
    """
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.sent_at is not None:
        raise ValidationError("This mail was already sent.")
    found = mailing_list(mailing.list_key)
    if found is None:
        raise ValidationError("This list does not exist any more.")
    members = found.members()
    now = Audience.of(mailing_criteria(mailing), notice_recipients(members))
    if now != confirmed or not now.count:
        raise AudienceChanged(now)
    count = notices_create(mailing=mailing, users=members)
    mailing.list_name = found.name
    mailing.audience = f"the people who chose “{found.name}”: {count} recipient{pluralize(count)}"
    mailing.sent_by, mailing.sent_at = by, timezone.now()
    mailing.save(update_fields=["list_name", "audience", "sent_by", "sent_at"])
    transaction.on_commit(partial(deliveries_enqueue, count))
    return count
