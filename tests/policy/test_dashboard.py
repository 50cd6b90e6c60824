"""The privacy dashboard: first on the admin index, it shows what needs attention now.

The policy in effect and any scheduled version; notices due, sent, failed and stalled, per
version and per incident; open contact messages and the oldest one's age; whether the site is
set up for a live site; when a notice last went out. Each item links to where to act.
"""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from policy.delivery.audience import Audience
from policy.delivery.outbox import notice_recipients
from policy.models import LEASE, ContactMessage, Incident, Notice
from policy.services.incidents import incident_send
from policy.services.versions import version_publish
from tests.factories import make_material_draft, make_published
from tests.mail_backends import FlakyBackend

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("admin:privacy_dashboard")


def text(page: str) -> str:
    """The page's words, without markup, on one line."""
    words = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    return re.sub(r" ([,.;:])", r"\1", words)


def send(*args: str) -> None:
    """Deliver notices into the test outbox, though the site is set up with a real server."""
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        call_command("send_policy_notices", *args, stdout=StringIO(), stderr=StringIO())


def later(monkeypatch, delta: timedelta) -> None:
    moment = timezone.now() + delta
    monkeypatch.setattr(timezone, "now", lambda: moment)


@pytest.fixture
def live_setup(settings):
    settings.SITE_URL = "https://www.pamedspa.biz"
    settings.NOTICE_FROM_EMAIL = "New Image MedSpa <no-reply@pamedspa.biz>"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_the_admin_index_links_the_dashboard_first(admin_client, privacy):
    ContactMessage.objects.create(name="V", email="v@example.org", subject="Q", message="?")
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert page.index(f'href="{DASHBOARD}"') < page.index('id="content-main"')
    assert "needs attention now." in text(page) or "need attention now." in text(page)


def test_it_shows_the_version_in_effect_and_a_scheduled_one(admin_client, privacy, live_setup):
    effective = timezone.now() + timedelta(days=40)
    scheduled = make_published(privacy, effective_at=effective)
    page = admin_client.get(DASHBOARD).content.decode()
    words = text(page)
    assert "In effect: Privacy Policy v1, since January 3, 2009." in words
    day = timezone.localtime(effective).strftime("%B %-d, %Y")
    at = date_format(timezone.localtime(effective), "P")
    assert f"Scheduled: Privacy Policy v{scheduled.number} takes effect at {at} on {day}." in words
    assert ".." not in words
    assert reverse("admin:policy_policyversion_change", args=[scheduled.pk]) in page
    assert "Nothing needs attention now." in words


def test_it_shows_notices_per_version_and_per_incident(
    admin_client, privacy, people, live_setup, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        version = version_publish(version=make_material_draft(privacy), by=None)
    send("--limit", "1")
    incident = Incident.objects.create(subject="A laptop was stolen", body="Change it.")
    incident_send(
        incident=incident, users=None, by=None, criteria="all", description="everyone",
        confirmed=Audience.of("all", notice_recipients(None)),
    )  # fmt: skip
    incident.notices.filter(user__username="bob").update(status=Notice.Status.FAILED)

    words = text(admin_client.get(DASHBOARD).content.decode())
    assert f"Privacy Policy v{version.number} 1 of 3 2 0 Going out." in words
    assert (
        "A laptop was stolen (breach) 0 of 3 2 1 1 failed: see why. Those the mail server "
        "refused can be sent again; those interrupted may have arrived"
    ) in words

    later(monkeypatch, timedelta(minutes=30))  # nothing has gone out since: no worker
    page = admin_client.get(DASHBOARD).content.decode()
    words = text(page)
    assert "2 stalled: due for over 10 minutes and nothing went out meanwhile." in words
    assert "ask whoever runs the site to start it" in words
    failed = f"?status__exact=failed&amp;incident__id__exact={incident.pk}"
    assert failed in page


def test_it_says_when_notices_were_never_made(
    admin_client, privacy, people, live_setup, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        version_publish(version=make_material_draft(privacy), by=None)  # queued; nobody runs it
    later(monkeypatch, timedelta(minutes=11))
    words = text(admin_client.get(DASHBOARD).content.decode())
    assert "Not even made yet, 10 minutes after publishing" in words
    assert "1 thing needs attention now." in words


def test_notices_not_made_yet_show_as_being_prepared_never_as_done(
    admin_client, privacy, people, live_setup, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version_publish(version=make_material_draft(privacy), by=None)  # queued; nobody runs it
    words = text(admin_client.get(DASHBOARD).content.decode())
    row = words.split("Privacy Policy v2")[-1].split("Messages to the privacy team")[0]
    assert "Being prepared: the background worker is making one notice per person." in row
    assert "Done." not in row
    assert "Nothing needs attention now." in words  # not yet: it may just be starting


def test_it_shows_open_messages_and_the_age_of_the_oldest(admin_client, privacy, live_setup):
    old = ContactMessage.objects.create(
        name="V", email="v@example.org", subject="Old", message="?",
        created_at=timezone.now() - timedelta(days=3),
    )  # fmt: skip
    ContactMessage.objects.create(name="W", email="w@example.org", subject="New", message="?")
    ContactMessage.objects.create(
        name="X", email="x@example.org", subject="Done", message="?", status="closed"
    )
    page = admin_client.get(DASHBOARD).content.decode()
    words = text(page)
    assert "2 open messages; the oldest came 3 days ago" in words
    assert timezone.localtime(old.created_at).strftime("%B %-d, %Y") in words
    assert f"{reverse('admin:policy_contactmessage_changelist')}?status__exact=new" in page


def test_it_lists_what_is_not_set_up_for_a_live_site_in_plain_words(admin_client, privacy):
    """The test settings are a developer's: every item shows, and no setting is named."""
    words = text(admin_client.get(DASHBOARD).content.decode())
    assert "Links in the emails the site sends go to “http://127.0.0.1:8000”" in words
    assert "Notices are sent from “no-reply@127.0.0.1”" in words
    assert "Emails are not sent to anyone" in words
    assert "Notices are sent while staff wait" in words
    assert not re.search(r"\b[A-Z]+_[A-Z_]+\b", words)  # no setting names


def test_notices_the_mail_server_will_not_take_are_not_going_out(
    admin_client, privacy, people, live_setup, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        version = version_publish(version=make_material_draft(privacy), by=None)
    monkeypatch.setattr(FlakyBackend, "failing", {"alice@example.com", "bob@example.com"})
    monkeypatch.setattr(FlakyBackend, "failures_left", 10)
    with override_settings(EMAIL_BACKEND="tests.mail_backends.FlakyBackend"):
        call_command("send_policy_notices", stdout=StringIO(), stderr=StringIO())

    words = text(admin_client.get(DASHBOARD).content.decode())

    assert f"Privacy Policy v{version.number} 1 of 3 2 0 2 could not be sent yet" in words
    assert "will be tried again on their own." in words
    assert (
        "What went wrong last: “Could not reach the mail server: it refused the connection "
        "(ConnectionRefusedError)”. If this goes on, ask whoever runs the site to check the "
        "mail server."
    ) in words
    assert "Going out." not in words
    assert "1 thing needs attention now." in words


def test_notices_a_stopped_worker_held_say_when_they_will_be_reported(
    admin_client, privacy, people, live_setup, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        version = version_publish(version=make_material_draft(privacy), by=None)
    send()
    claimed = timezone.now()
    version.notices.filter(user__username__in=["alice", "bob"]).update(
        status=Notice.Status.SENDING, claimed_at=claimed
    )
    going = text(admin_client.get(DASHBOARD).content.decode())
    assert f"Privacy Policy v{version.number} 1 of 3 2 0 Going out." in going  # being sent

    later(monkeypatch, timedelta(minutes=3))  # a group takes seconds: that worker stopped
    words = text(admin_client.get(DASHBOARD).content.decode())

    at = date_format(timezone.localtime(claimed + LEASE), "P")  # "10:37 a.m.", as staff read it
    assert (
        "2 were being sent when the background worker stopped, so whether they arrived is "
        f"unknown. Shortly after {at} they will be marked “interrupted”, for you to decide "
        "whether to send them again."
    ) in words
    assert "Going out." not in words
    assert "1 thing needs attention now." in words


def test_a_live_setup_has_nothing_to_fix(admin_client, privacy, live_setup):
    words = text(admin_client.get(DASHBOARD).content.decode())
    assert "are set up for a live site." in words


def test_it_says_when_a_notice_last_went_out(
    admin_client, privacy, people, live_setup, django_capture_on_commit_callbacks
):
    assert "No notice has gone out yet." in text(admin_client.get(DASHBOARD).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        version_publish(version=make_material_draft(privacy), by=None)
    send()
    words = text(admin_client.get(DASHBOARD).content.decode())
    assert "The last notice went out now" in words


def test_the_dashboard_needs_the_admin(client, privacy):
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and reverse("admin:login") in response.url


def test_the_dashboard_runs_as_many_queries_for_many_versions_as_for_one(
    admin_client, privacy, people, live_setup, django_capture_on_commit_callbacks
):
    def queries() -> int:
        admin_client.get(DASHBOARD)  # the session's own bookkeeping, done once in a while
        with CaptureQueriesContext(connection) as captured:
            admin_client.get(DASHBOARD)
        return len(captured.captured_queries)

    def publish() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            version_publish(version=make_material_draft(privacy), by=None)

    publish()
    one = queries()
    publish()
    publish()
    assert queries() == one <= 22  # 21, and the privacy requests section counts the open ones
