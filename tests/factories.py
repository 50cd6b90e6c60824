"""Small factories for test data."""

import re
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.test import TestCase
from django.utils import timezone

from policy.models import Document, NewUse, PolicyVersion
from policy.services.versions import version_draft_save, version_publish

PASSWORD = "correct horse battery staple"

# The six section headings of the seed policy (version 1), exactly as published in 2009.
SEED_SECTION_HEADINGS = [
    "1. Types of Data Collection",
    "2. The Data We Collect and How We Use It",
    "3.Customization, Preferences and Opt-Out",
    "4. Advertising",
    "5. Security",
    "6. Policy Updates",
]


def signup_data(**overrides) -> dict:
    """A valid signup form submission; pass None to leave a field out."""
    data = {
        "username": "carol",
        "email": "carol@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "accept_policy": "on",
        "policy_version": "1",
        "website": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def make_user(username: str = "staff", *, staff: bool = False, **extra):
    user_model = get_user_model()
    return user_model.objects.create_user(
        username=username,
        email=f"{username}@example.com",
        password=PASSWORD,
        is_staff=staff,
        **extra,
    )


def make_draft(
    document: Document,
    *,
    body: str = "## Section\n\nNew text.",
    summary: str = "Clarified a section.",
    effective_at: datetime | None = None,
    by=None,
) -> PolicyVersion:
    version = PolicyVersion(
        document=document,
        title=document.title,
        body=body,
        summary=summary,
        effective_at=effective_at,
        created_at=timezone.now(),  # the test's clock, which a field default would not follow
    )
    return version_draft_save(version=version, by=by)


def make_material_draft(
    document: Document, *, days: float = 31, new_uses: dict[str, str] | None = None, **fields
) -> PolicyVersion:
    """A material draft about sharing data with partners, taking effect in `days` days.

    `new_uses` maps the name of each new use of data the draft asks about to its description;
    `fields` override any other field of the version (is_material=False makes a minor one).
    """
    values = {
        "title": document.title,
        "body": "## Partners\n\nWe may share data with partners, if you allow it.",
        "summary": "We may share data with partners, if you allow it.",
        "is_material": True,
        "effective_at": timezone.now() + timedelta(days=days),
        **fields,
    }
    draft = version_draft_save(version=PolicyVersion(document=document, **values), by=None)
    for name, description in (new_uses or {}).items():
        NewUse.objects.create(version=draft, name=name, description=description)
    return draft


def make_published(document: Document, *, at: datetime | None = None, **kwargs) -> PolicyVersion:
    """Publish a new version and run its on-commit work (cache purge), as a real commit would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return version_publish(version=make_draft(document, **kwargs), by=kwargs.get("by"), at=at)


def make_verified_user(username: str = "alice", email: str | None = None, **extra):
    """A user whose primary email address is verified, as after a completed signup."""
    from allauth.account.models import EmailAddress

    email = email or f"{username}@example.com"
    user = get_user_model().objects.create_user(
        username=username, email=email, password=PASSWORD, **extra
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def make_many_verified_users(count: int) -> None:
    """`count` users person0, person1, … with verified addresses, in two queries, no hashing.

    Their password is unusable: they are there to be written to, not to sign in.
    """
    from allauth.account.models import EmailAddress

    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        user_model(username=f"person{n}", email=f"person{n}@example.com", password="!")
        for n in range(count)
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users
    )


def link_in(message, pattern: str) -> str:
    """The path of the first link in an email's text that matches `pattern`."""
    match = re.search(rf"https?://[^/\s]+({pattern})", message.body)
    assert match, f"no link matching {pattern!r} in:\n{message.body}"
    return match.group(1)


def login(client, username: str = "alice") -> None:
    """Log in through the form, so allauth records the login (and usersessions a session)."""
    from http import HTTPStatus

    from django.urls import reverse

    response = client.post(reverse("account_login"), {"login": username, "password": PASSWORD})
    assert response.status_code == HTTPStatus.FOUND


def reauthenticate(client, next_url: str):
    """Re-enter the password, as allauth asks before sensitive pages and changes."""
    from django.urls import reverse

    return client.post(
        f"{reverse('account_reauthenticate')}?next={next_url}", {"password": PASSWORD}
    )


def send_topic_mail(topic, *, subject: str = "April news", body: str = "Hello.", by=None):
    """Write topic mail to `topic`'s list, confirm its audience as counted now, send, deliver."""
    from policy.delivery.outbox import notices_deliver
    from policy.models import Mailing
    from policy.services.mailings import mailing_audience, mailing_send

    mailing = Mailing.objects.create(list_key=f"topic:{topic.slug}", subject=subject, body=body)
    audience = mailing_audience(mailing)
    if audience.count:
        with TestCase.captureOnCommitCallbacks(execute=True):
            mailing_send(mailing=mailing, by=by, confirmed=audience)
        notices_deliver()
    return mailing


def make_pending_review(document: Document, user) -> PolicyVersion:
    """Two material versions in effect: `user` allowed the first one's new use ("Research")
    and has yet to review the second ("Partners"), which is returned."""
    from policy.services.ledger import review_submit

    first = version_publish(
        version=make_material_draft(document, days=0, new_uses={"Research": "Studies."}),
        by=None, override_reason="test: now",
    )  # fmt: skip
    review_submit(user=user, version=first, method="review", ip_address=None, user_agent="",
                  answers={first.new_uses.get(): True})  # fmt: skip
    return version_publish(
        version=make_material_draft(document, days=0, new_uses={"Partners": "Offers."}),
        by=None, override_reason="test: now",
    )  # fmt: skip
