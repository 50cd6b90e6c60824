"""What the privacy dashboard shows: everything that needs attention now, read from the models.

Each fact says, in plain words, what is wrong and where to act; none needs a setting name.
Other apps add sections of their own with `section_register` (the accounts app adds privacy
requests), so this module depends on none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr

from django.conf import settings
from django.db.models import Count, Max, Min
from django.utils import timezone

from .checks import is_local_host, site_url_is_public
from .models import (
    LEASE,
    PRIVACY,
    ContactMessage,
    Incident,
    Notice,
    NoticeFanout,
    PolicyVersion,
)
from .models.notices import STALL


@dataclass(frozen=True)
class Delivery:
    """The notices of one version or incident."""

    about: PolicyVersion | Incident
    total: int
    sent: int
    due: int
    failed: int
    stalled: int
    retrying: int  # tried and not sent yet, to be tried again (see NoticeQuerySet.retrying)
    retry_error: str  # what the mail server (or the connection) last said about one of them
    held: int  # "sending" for long: their worker has probably stopped (NoticeQuerySet.held)
    held_until: datetime | None  # when the first of them is reported as interrupted
    unmade: bool  # a material version whose notices no worker has made, STALL after publishing
    preparing: bool = False  # its notices are being made (published less than STALL ago)

    @property
    def needs_attention(self) -> bool:
        """Whether someone must look: not made, stalled, held, retrying or failed notices."""
        return bool(self.unmade or self.stalled or self.held or self.retrying or self.failed)


@dataclass(frozen=True)
class Setup:
    """One part of the site's set-up that is not ready for a live site, in plain words."""

    problem: str
    fix: str


@dataclass(frozen=True)
class Item:
    """One line of a section: what it says, where to act, and whether it needs someone now."""

    text: str
    url: str = ""
    attention: bool = False


@dataclass(frozen=True)
class Section:
    """A dashboard section another app contributes."""

    title: str
    items: list[Item]
    empty: str  # what the section says when it has no items


_sections: list[Callable[[datetime], Section]] = []


def section_register(build: Callable[[datetime], Section]) -> Callable[[datetime], Section]:
    """Add a section to the dashboard, built afresh for each view from the time `at`."""
    if build not in _sections:
        _sections.append(build)
    return build


@dataclass
class Dashboard:
    current: PolicyVersion | None
    scheduled: list[PolicyVersion]
    drafts: int
    deliveries: list[Delivery]
    open_messages: int
    oldest_open: datetime | None
    last_delivered: datetime | None
    setup: list[Setup] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    @property
    def attention(self) -> int:
        """How many things need someone now: stalled or failed notices, open messages, set-up,
        and the items other apps' sections mark."""
        stuck = sum(1 for delivery in self.deliveries if delivery.needs_attention)
        marked = sum(item.attention for section in self.sections for item in section.items)
        return stuck + (1 if self.open_messages else 0) + len(self.setup) + marked


def dashboard(at: datetime | None = None) -> Dashboard:
    now = at or timezone.now()
    versions = PolicyVersion.objects.filter(document__slug=PRIVACY).select_related("document")
    stalled = Notice.objects.stalled(now)
    by_version = dict(stalled.values_list("version").annotate(n=Count("pk")))
    by_incident = dict(stalled.values_list("incident").annotate(n=Count("pk")))
    retrying = {
        (row["version"], row["incident"]): (row["n"], row["error"])
        for row in Notice.objects.retrying()
        .values("version", "incident")
        .annotate(n=Count("pk"), error=Max("last_error"))
    }
    held = {
        (row["version"], row["incident"]): (row["n"], row["oldest"] + LEASE)
        for row in Notice.objects.held(now)
        .values("version", "incident")
        .annotate(n=Count("pk"), oldest=Min("claimed_at"))
    }
    fanouts = dict(NoticeFanout.objects.unfinished().values_list("version_id", "created_at"))
    unmade = {pk for pk, created in fanouts.items() if created <= now - STALL}
    deliveries = [
        _delivery(
            version,
            stalled=by_version.get(version.pk, 0),
            retrying=retrying.get((version.pk, None), (0, "")),
            held=held.get((version.pk, None), (0, None)),
            unmade=version.pk in unmade,
            preparing=version.pk in fanouts and version.pk not in unmade,
        )
        for version in versions.published().material().with_notice_counts().order_by("-number")
    ] + [
        _delivery(
            incident,
            stalled=by_incident.get(incident.pk, 0),
            retrying=retrying.get((None, incident.pk), (0, "")),
            held=held.get((None, incident.pk), (0, None)),
            unmade=False,
        )
        for incident in Incident.objects.filter(sent_at__isnull=False)
        .with_notice_counts()
        .order_by("-sent_at")
    ]
    open_messages = ContactMessage.objects.open()
    return Dashboard(
        current=versions.current(now),
        scheduled=list(versions.published().filter(effective_at__gt=now).order_by("number")),
        drafts=versions.drafts().count(),
        deliveries=deliveries,
        open_messages=open_messages.count(),
        oldest_open=open_messages.aggregate(oldest=Min("created_at"))["oldest"],
        last_delivered=Notice.objects.aggregate(last=Max("sent_at"))["last"],
        setup=setup_problems(),
        sections=[build(now) for build in _sections],
    )


def _delivery(
    about,
    *,
    stalled: int,
    retrying: tuple[int, str],
    held: tuple[int, datetime | None],
    unmade: bool,
    preparing: bool = False,
) -> Delivery:
    return Delivery(
        about=about,
        total=about.notices_total,
        sent=about.notices_sent,
        due=about.notices_pending,
        failed=about.notices_failed,
        stalled=stalled,
        retrying=retrying[0],
        retry_error=retrying[1],
        held=held[0],
        held_until=held[1],
        unmade=unmade,
        preparing=preparing,
    )


def setup_problems() -> list[Setup]:
    """What about the site's set-up is not right for a live site, for whoever runs it to fix."""
    who = "Ask whoever runs the site to "
    problems = []
    if site_url_is_public(None):
        problems.append(
            Setup(
                f"Links in the emails the site sends go to “{settings.SITE_URL or 'nowhere'}”, "
                "not to the public site.",
                who + "set the site's public https:// address.",
            )
        )
    for label, sender in (
        ("Account emails", settings.DEFAULT_FROM_EMAIL),
        ("Notices", settings.NOTICE_FROM_EMAIL),
    ):
        domain = parseaddr(sender)[1].rpartition("@")[2]
        if not domain or "." not in domain or is_local_host(domain) or _is_address(domain):
            problems.append(
                Setup(
                    f"{label} are sent from “{parseaddr(sender)[1]}”, which is not an address "
                    "of the clinic's own domain: mail servers may refuse them.",
                    who + "set a sender address at the clinic's domain.",
                )
            )
    if settings.EMAIL_BACKEND.rsplit(".", 2)[-2] in {"console", "locmem", "dummy", "filebased"}:
        problems.append(
            Setup(
                "Emails are not sent to anyone: they are written to the server's log or files.",
                who + "connect the site to a mail server.",
            )
        )
    if "immediate" in settings.TASKS["default"]["BACKEND"].lower():
        problems.append(
            Setup(
                "Notices are sent while staff wait, inside the page that publishes: a large "
                "mailing can time out, and a failed one is not retried in the background.",
                who + "use the task queue with a background worker.",
            )
        )
    return problems


def _is_address(host: str) -> bool:
    return host.replace(".", "").isdigit() or ":" in host
