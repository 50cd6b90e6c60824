"""The email of each notice: what every notice about one thing shares, and sending one."""

from __future__ import annotations

import re
import secrets
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import conditional_escape

from ..models import Incident, Mailing, Notice, PolicyVersion
from .lists import Extras, mailing_list


def automated(headers: dict[str, str] | None = None) -> dict[str, str]:
    """The headers of every message the site sends by itself, plus `headers`.

    Auto-Submitted (RFC 3834) tells mail servers and people's out-of-office replies that no
    person wrote it, so they do not answer it.
    """
    return {"Auto-Submitted": "auto-generated", **(headers or {})}


def bulk_message(*, subject: str, body: str, to: str, headers: dict):
    """A message sent to many people (a notice, topic mail): from NOTICE_FROM_EMAIL, whose
    mailbox nobody reads, with replies going to the privacy team."""
    return EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=settings.NOTICE_FROM_EMAIL,
        to=[to],
        reply_to=[settings.PRIVACY_CONTACT_EMAIL],
        headers=automated(headers),
    )


def notice_context(kind: str, pk: int) -> dict:
    """What every notice about one thing shares: the version and its links, or the incident."""
    common = {
        "site_name": settings.SITE_NAME,
        "message_domain": urlsplit(settings.SITE_URL).hostname,
        # Where a person sees and changes every answer they gave: linked from every notice.
        "choices_url": settings.SITE_URL + reverse("account_overview"),
    }
    if kind == "incident":
        incident = Incident.objects.get(pk=pk)
        return {**common, "template": "policy/email/incident", "incident": incident,
                "subject": incident.subject}  # fmt: skip
    if kind == "mailing":
        mailing = Mailing.objects.get(pk=pk)
        return {**common, "template": "policy/email/mailing", "mailing": mailing,
                "subject": mailing.subject, "list": mailing_list(mailing.list_key)}  # fmt: skip
    version = PolicyVersion.objects.select_related("document").get(pk=pk)
    previous = PolicyVersion.objects.previous_to(version)
    slug = version.document.slug
    compare = (
        reverse("policy:compare", args=[slug, previous.number, version.number])
        if previous
        else version.get_absolute_url()
    )
    return {
        **common,
        "template": "policy/email/notice",
        "version": version,
        "new_uses": list(version.new_uses.all()),
        "review_url": settings.SITE_URL + reverse("policy:review", args=[slug]) + "?via=email",
        "compare_url": settings.SITE_URL + compare,
        "version_url": settings.SITE_URL + version.get_absolute_url(),
    }


# What differs between two people's copies of one notice. Its text is rendered once for
# everyone, with a marker in each of these places, and each copy fills them in (a mail merge):
# rendering the templates for each person took a third of the time spent sending.
_MARK = f"m{secrets.token_hex(8)}"
_FIELDS = re.compile(_MARK + r"(name|reason|stop_url|stop_text)")


class _Anyone:
    """Stands for the person in the shared rendering."""

    def get_username(self) -> str:
        return _MARK + "name"


_ANYONES_EXTRAS = Extras(
    reason=_MARK + "reason", stop_url=_MARK + "stop_url", stop_text=_MARK + "stop_text"
)


def notice_message(notice: Notice, shared: dict, *, address: str) -> EmailMultiAlternatives:
    """One notice's email to `address`."""
    # The tense follows the version's effective time at sending.
    scheduled = shared["version"].is_scheduled() if "version" in shared else None
    extras = shared["list"].extras(notice.user) if shared.get("list") else Extras()
    subject, text, html = _letter(shared, scheduled)
    values = {
        "name": notice.user.get_username(),
        "reason": extras.reason,
        "stop_url": extras.stop_url,
        "stop_text": extras.stop_text,
    }
    as_text = partial(_FIELDS.sub, lambda field: values[field[1]])
    as_html = partial(_FIELDS.sub, lambda field: conditional_escape(values[field[1]]))
    message = bulk_message(
        subject=f"[{settings.SITE_NAME}] {as_html(subject)}",
        body=as_text(text),
        to=address,
        # A stable Message-ID lets mail clients drop a copy that a person chose to requeue.
        headers={
            "Message-ID": f"<policy-notice-{notice.pk}@{shared['message_domain']}>",
            **extras.headers,
        },
    )
    message.attach_alternative(as_html(html), "text/html")
    return message


def incident_sample(incident: Incident) -> EmailMultiAlternatives:
    """The breach notice's email as each person gets it (named "…"): what staff see first."""
    anyone = get_user_model()(username="…")
    shared = notice_context("incident", incident.pk)
    return notice_message(Notice(pk=0, incident=incident, user=anyone), shared, address="…")


def _letter(shared: dict, scheduled: bool | None) -> tuple[str, str, str]:
    """The subject, text and HTML that every notice about one thing shares, rendered once (for
    each tense) with markers where each person's own words go."""
    letters = shared.setdefault("letters", {})
    if scheduled not in letters:
        context = {**shared, "user": _Anyone(), "extras": _ANYONES_EXTRAS}
        if scheduled is not None:
            context["scheduled"] = scheduled
        template = shared["template"]
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        letters[scheduled] = (
            subject,
            render_to_string(f"{template}_message.txt", context),
            render_to_string(f"{template}_message.html", context),
        )
    return letters[scheduled]
