"""Notices that staff handle: putting failed ones back in the queue, and sending them again."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.db.models import QuerySet

from ..delivery.outbox import notices_requeue
from ..tasks import deliveries_enqueue


@transaction.atomic
def notices_retry(*, notices: QuerySet) -> int:
    """Requeue the failed ones among `notices` and queue a delivery; returns how many."""
    count = notices_requeue(notices=notices)
    if count:
        transaction.on_commit(partial(deliveries_enqueue, count))
    return count
