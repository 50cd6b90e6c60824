"""The email of each notice: what every notice about one thing shares, and sending one."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

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


def notice_message(notice: Notice, shared: dict, *, address: str) -> EmailMultiAlternatives:
    """One notice's email to `address`."""
    context = {**shared, "user": notice.user}
    if "version" in shared:  # the tense follows the version's effective time at sending
        context["scheduled"] = shared["version"].is_scheduled()
    extras = shared["list"].extras(notice.user) if shared.get("list") else Extras()
    context["extras"] = extras
    template = shared["template"]
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    message = bulk_message(
        subject=f"[{settings.SITE_NAME}] {subject}",
        body=render_to_string(f"{template}_message.txt", context),
        to=address,
        # A stable Message-ID lets mail clients drop a copy that a person chose to requeue.
        headers={
            "Message-ID": f"<policy-notice-{notice.pk}@{shared['message_domain']}>",
            **extras.headers,
        },
    )
    message.attach_alternative(render_to_string(f"{template}_message.html", context), "text/html")
    return message
