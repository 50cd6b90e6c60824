"""Notices in production mode: made and sent with or without a worker, refusals told apart.

With DJANGO_TASKS_BACKEND=database and no db_worker running, publishing a material change
queues tasks that nothing runs. `send_policy_notices` (by hand or from cron) must then make
the notices the version lacks and send them, and the admin must say plainly that notices are
not going out.
"""

import smtplib
from collections import Counter
from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from policy.delivery.outbox import INTERRUPTED, LEASE
from policy.models import Notice, NoticeFanout
from policy.services.versions import version_publish
from policy.tasks import FOLLOW_UP, create_policy_notices, deliver_policy_notices
from tests.factories import make_material_draft
from tests.mail_backends import FlakyBackend

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_worker(settings):
    """The production task backend, with no worker running."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def publish(privacy, capture):
    with capture(execute=True):
        return version_publish(version=make_material_draft(privacy), by=None)


def send(*args) -> str:
    out = StringIO()
    call_command("send_policy_notices", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def recipients(mailoutbox) -> Counter:
    return Counter(address for message in mailoutbox for address in message.to)


def later(monkeypatch, delta: timedelta) -> None:
    moment = timezone.now() + delta
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_without_a_worker_send_policy_notices_makes_and_sends_what_a_version_lacks(
    privacy, people, no_worker, mailoutbox, django_capture_on_commit_callbacks
):
    version = publish(privacy, django_capture_on_commit_callbacks)
    assert DBTaskResult.objects.filter(status="READY").count() == 1  # queued, and nobody runs it
    assert not version.notices.exists()
    assert NoticeFanout.objects.get(version=version).completed_at is None

    out = send()

    assert "Created 3 notices that no worker had made." in out
    assert "Sent 3;" in out
    assert recipients(mailoutbox) == Counter(
        {"alice@example.com": 1, "bob@example.com": 1, "carol@example.com": 1}
    )
    assert NoticeFanout.objects.get(version=version).completed_at is not None
    assert send() == "No notices are due.\n"  # idempotent: a second run makes and sends nothing
    assert len(mailoutbox) == 3


@pytest.mark.django_db(transaction=True)  # db_worker closes the connection when it is done
def test_the_queued_task_finishes_the_fanout_too(
    privacy, people, no_worker, mailoutbox, django_capture_on_commit_callbacks
):
    version = publish(privacy, django_capture_on_commit_callbacks)
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    assert NoticeFanout.objects.get(version=version).completed_at is not None
    assert version.notices.filter(status="sent").count() == 3
    assert send() == "No notices are due.\n"
    assert len(mailoutbox) == 3


def test_interrupted_notices_are_recovered_even_when_nothing_is_due(
    privacy, people, no_worker, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    version = publish(privacy, django_capture_on_commit_callbacks)
    send()
    stuck = version.notices.get(user__username="bob")
    Notice.objects.filter(pk=stuck.pk).update(status="sending", claimed_at=timezone.now())
    later(monkeypatch, timedelta(minutes=20))

    out = send()

    assert "1 notices were interrupted while sending" in out
    assert "No notices are due." in out
    stuck.refresh_from_db()
    assert stuck.status == "failed"


def test_requeueing_queues_a_delivery_per_batch_and_a_follow_up(
    admin_client, privacy, people, no_worker, django_capture_on_commit_callbacks, settings
):
    settings.POLICY_NOTICE_BATCH_SIZE = 2
    version = publish(privacy, django_capture_on_commit_callbacks)
    send()
    version.notices.update(status="failed")
    queued = DBTaskResult.objects.filter(task_path="policy.tasks.deliver_policy_notices")
    before = queued.count()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:policy_notice_changelist"),
            {
                "action": "requeue",
                "_selected_action": list(version.notices.values_list("pk", flat=True)),
            },
        )

    assert version.notices.filter(status="pending").count() == 3
    # Two deliveries now (three notices, two a batch), and one follow-up for the notices they
    # would leave if their worker died.
    assert queued.count() == before + 3
    tasks = [result.task for result in queued.order_by("-enqueued_at")[:3]]
    assert set(queued.values_list("status", flat=True)) == {"READY"}
    assert sorted(task.run_after is None for task in tasks) == [False, True, True]
    [follow_up] = [task for task in tasks if task.run_after is not None]
    assert abs(follow_up.run_after - timezone.now() - FOLLOW_UP) < timedelta(minutes=1)


def follow_ups() -> list:
    """The follow-up deliveries queued and not yet run, first due first."""
    queued = DBTaskResult.objects.filter(
        task_path="policy.tasks.deliver_policy_notices", status="READY"
    )
    return list(queued.filter(args_kwargs__kwargs__follow_up=True).order_by("run_after"))


def test_a_worker_that_dies_mid_fanout_is_followed_up_soon_then_once_its_notices_can_be_reported(
    privacy, people, no_worker, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    version = publish(privacy, django_capture_on_commit_callbacks)
    deliveries = DBTaskResult.objects.filter(task_path="policy.tasks.deliver_policy_notices")
    with django_capture_on_commit_callbacks(execute=True):
        create_policy_notices.call(version.pk)  # what the worker runs first
    waits = sorted(task.task.run_after is not None for task in deliveries)
    assert waits == [False, True]  # one now, one follow-up
    [soon] = follow_ups()
    assert abs(soon.run_after - timezone.now() - FOLLOW_UP) < timedelta(seconds=30)
    # The worker took the delivery and died with one notice in hand: the rest wait.
    claimed = timezone.now()
    bob = version.notices.get(user__username="bob")
    Notice.objects.filter(pk=bob.pk).update(status="sending", claimed_at=claimed)
    deliveries.exclude(args_kwargs__kwargs__follow_up=True).delete()  # died with the worker

    later(monkeypatch, FOLLOW_UP)  # a restarted worker runs the follow-up when it is due
    report = deliver_policy_notices.call(**soon.args_kwargs["kwargs"])

    assert (report["sent"], report["failed"]) == (2, 0)
    assert sorted(recipients(mailoutbox)) == ["alice@example.com", "carol@example.com"]
    bob.refresh_from_db()
    assert bob.status == "sending"  # nobody can tell yet whether it went out
    [_, again] = follow_ups()  # the first is still READY here: call() ran it inline
    assert abs(again.run_after - (claimed + LEASE + timedelta(minutes=1))) < timedelta(seconds=1)

    later(monkeypatch, LEASE + timedelta(minutes=1))
    report = deliver_policy_notices.call(**again.args_kwargs["kwargs"])

    assert report["sent"] == 0
    bob.refresh_from_db()
    assert (bob.status, bob.last_error) == ("failed", INTERRUPTED)  # reported, for a person
    assert len(follow_ups()) == 2  # nothing left "sending": no third follow-up
    assert len(mailoutbox) == 2


def test_a_follow_up_sends_every_due_notice_not_just_one_batch(
    privacy, people, no_worker, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.POLICY_NOTICE_BATCH_SIZE = 1
    version = publish(privacy, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        create_policy_notices.call(version.pk)
    DBTaskResult.objects.exclude(args_kwargs__kwargs__follow_up=True).delete()  # died too
    [soon] = follow_ups()

    report = deliver_policy_notices.call(**soon.args_kwargs["kwargs"])

    assert report["sent"] == 3
    assert version.notices.filter(status="sent").count() == 3


@pytest.mark.parametrize(
    ("refusal", "status", "error"),
    [
        (smtplib.SMTPRecipientsRefused({"bob@example.com": (550, b"5.1.1 No such user")}),
         "failed", "The mail server refused it: 550 5.1.1 No such user"),
        (smtplib.SMTPDataError(554, b"5.7.1 Message rejected as spam"),
         "failed", "The mail server refused it: 554 5.7.1 Message rejected as spam"),
        (smtplib.SMTPRecipientsRefused({"bob@example.com": (450, b"4.2.0 Mailbox busy")}),
         "pending", "The mail server asked to try again later: 450 4.2.0 Mailbox busy"),
        (smtplib.SMTPDataError(451, b"4.3.0 Try again later"), "pending",
         "The mail server asked to try again later: 451 4.3.0 Try again later"),
        (ConnectionRefusedError("mail server refused the connection"), "pending",
         "Could not reach the mail server: it refused the connection (ConnectionRefusedError)"),
        (TimeoutError("timed out"), "pending",
         "Could not reach the mail server: it did not answer in time (TimeoutError)"),
        (smtplib.SMTPServerDisconnected("gone"), "pending",
         "The mail server closed the connection (SMTPServerDisconnected: gone)"),
    ],
)  # fmt: skip
def test_a_permanent_refusal_fails_at_once_and_a_temporary_one_is_retried(
    privacy, people, no_worker, settings, monkeypatch, django_capture_on_commit_callbacks,
    refusal, status, error,
):  # fmt: skip
    settings.EMAIL_BACKEND = "tests.mail_backends.FlakyBackend"
    monkeypatch.setattr(FlakyBackend, "failing", {"bob@example.com"})
    monkeypatch.setattr(FlakyBackend, "failures_left", 1)
    monkeypatch.setattr(FlakyBackend, "error", refusal)
    version = publish(privacy, django_capture_on_commit_callbacks)

    send()

    notice = version.notices.get(user__username="bob")
    assert (notice.status, notice.attempts) == (status, 1)
    assert notice.last_error.startswith(error)


def test_the_admin_shows_where_each_notice_goes_sent_or_not(
    admin_client, privacy, people, no_worker, django_capture_on_commit_callbacks
):
    version = publish(privacy, django_capture_on_commit_callbacks)
    send("--limit", "1")  # alice's is sent; bob's and carol's are still due
    page = admin_client.get(reverse("admin:policy_notice_changelist")).content.decode()
    for address in ("alice@example.com", "bob@example.com", "carol@example.com"):
        assert f'<td class="field-address">{address}</td>' in page
    assert version.notices.filter(status="pending").count() == 2


def test_the_version_page_says_plainly_when_notices_are_not_going_out(
    admin_client, privacy, people, no_worker, django_capture_on_commit_callbacks, monkeypatch
):
    version = publish(privacy, django_capture_on_commit_callbacks)
    url = reverse("admin:policy_policyversion_change", args=[version.pk])
    assert "not going out" not in admin_client.get(url).content.decode()  # just published

    later(monkeypatch, timedelta(minutes=11))
    page = admin_client.get(url).content.decode()
    assert "Notices of this version are not going out." in page
    assert "have not even been made" in page
    assert "background worker is probably not running" in page

    call_command("send_policy_notices", "--limit", "0", stdout=StringIO())  # makes, sends none
    later(monkeypatch, timedelta(minutes=22))
    page = admin_client.get(url).content.decode()
    assert "3 notices have waited more than 10 minutes" in page

    send()  # a worker (or cron) catches up: the warning goes
    assert admin_client.get(url).status_code == HTTPStatus.OK
    assert "not going out" not in admin_client.get(url).content.decode()
