"""Global Privacy Control: a signed-in person's browser asks us not to sell or share their data.

When the request carries `Sec-GPC: 1`, every active topic that shares data with partners is
turned off, and every published new use that sells or shares data is answered "Don't allow".
Each is one ledger record with the method "gpc", made once per item, even where the item was
already off: the signal is on record for it. An item GPC has answered is never answered again,
so a person who then turns it back on themselves keeps that explicit choice (which the CCPA
regulations allow a business to ask for).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import Max

from policy.models import Choice, NewUse
from policy.services.ledger import choice_record

from ..models import PreferenceChange, PreferenceMethod, Topic
from .people import preference_set

GPC = PreferenceMethod.GPC  # the same value, "gpc", as the consent ledger's method


def _sharing_topics():
    return Topic.objects.active().filter(shares_with_partners=True)


def _sharing_uses() -> list[NewUse]:
    """The newest published new use for each purpose that sells or shares data."""
    uses = (
        NewUse.objects.filter(shares_data=True, version__published_at__isnull=False)
        .select_related("version")
        .order_by("purpose", "-version__number")
    )
    newest: dict[str, NewUse] = {}
    for use in uses:
        newest.setdefault(use.purpose, use)
    return list(newest.values())


def gpc_catalog_stamp() -> str:
    """Changes when a topic or a new use is added or starts sharing: the cue to look again.

    Kept a minute in the cache, so a browser sending GPC costs one cache read per request.
    """
    stamp = cache.get("gpc:catalog")
    if stamp is None:
        topics = _sharing_topics().aggregate(n=Max("pk"))["n"]
        uses = NewUse.objects.filter(shares_data=True, version__published_at__isnull=False)
        stamp = f"{topics}:{_sharing_topics().count()}:{uses.aggregate(n=Max('pk'))['n']}:" + str(
            uses.count()
        )
        cache.set("gpc:catalog", stamp, 60)
    return stamp


@transaction.atomic
def gpc_honour(*, user, ip_address: str | None, user_agent: str) -> list[str]:
    """Turn off what GPC asks to, once per item; returns the names of what changed."""
    changed = []
    done_topics = set(
        PreferenceChange.objects.filter(user=user, method=GPC).values_list("topic_id", flat=True)
    )
    for topic in _sharing_topics().exclude(pk__in=done_topics):
        if preference_set(user=user, topic=topic, opted_in=False, method=GPC,
                          ip_address=ip_address, user_agent=user_agent,
                          record_unchanged=True):  # fmt: skip
            changed.append(topic.name)
    done_uses = set(Choice.objects.filter(user=user, method=GPC).values_list("purpose", flat=True))
    for use in _sharing_uses():
        if use.purpose in done_uses:
            continue
        if _allowed_or_unanswered(user, use.purpose):
            changed.append(use.name)
        choice_record(user=user, new_use=use, allowed=False, method=GPC,
                      ip_address=ip_address, user_agent=user_agent)  # fmt: skip
    return changed


def _allowed_or_unanswered(user, purpose: str) -> bool:
    latest = Choice.objects.filter(user=user, purpose=purpose).order_by("-chosen_at", "-pk")
    answer = latest.values_list("allowed", flat=True).first()
    return answer is None or answer


@dataclass(frozen=True)
class Honoured:
    what: str
    at: datetime


def gpc_history(user) -> list[Honoured]:
    """What GPC turned off for `user`, and when, for their preferences page."""
    topics = PreferenceChange.objects.filter(user=user, method=GPC).select_related("topic")
    uses = Choice.objects.filter(user=user, method=GPC).select_related("new_use")
    done = [Honoured(f"“{c.topic.name}”: off", c.changed_at) for c in topics]
    done += [Honoured(f"“{c.new_use.name}”: Don't allow", c.chosen_at) for c in uses]
    return sorted(done, key=lambda h: h.at)
