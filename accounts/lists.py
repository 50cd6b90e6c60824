"""The topics people choose, offered to the policy app's topic mail as lists staff may write to.

A topic's list is the active people who opted in to it. Each copy says why the person gets it
and carries a one-click unsubscribe link, in the text and in the List-Unsubscribe headers
(RFC 8058), so mail providers can show their own button.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from policy.delivery.lists import Extras, MailingList, register

from .models import Subscription, Topic
from .services.people import unsubscribe_token


def topic_list(topic: Topic) -> MailingList:
    def members():
        return get_user_model().objects.filter(
            is_active=True, subscriptions__topic=topic, subscriptions__opted_in=True
        )

    def has(user) -> bool:
        return (
            user is not None
            and Subscription.objects.filter(user=user, topic=topic, opted_in=True).exists()
        )

    return MailingList(
        key=f"topic:{topic.slug}",
        name=topic.name,
        members=members,
        has=has,
        extras=lambda user: topic_mail_extras(user=user, topic=topic),
    )


def topic_mail_extras(*, user, topic: Topic) -> Extras:
    """Why this person gets mail about `topic`, and their own one-click way to stop."""
    url = settings.SITE_URL + reverse(
        "account_unsubscribe", args=[unsubscribe_token(user=user, topic=topic)]
    )
    return Extras(
        reason=f"You get this because you chose “{topic.name}”.",
        stop_url=url,
        stop_text="Unsubscribe",
        headers={
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def register_topics() -> None:
    """Offer every active topic to topic mail (called once the apps are ready)."""

    def find(slug: str) -> MailingList | None:
        topic = Topic.objects.active().filter(slug=slug).first()
        return topic_list(topic) if topic else None

    register("topic", find=find, every=lambda: [topic_list(t) for t in Topic.objects.active()])
