"""Telling every user about a material change: one notice each, never two, whatever fails."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from policy.delivery.outbox import (
    CLAIM_SIZE,
    IN_FLIGHT_MAX,
    INTERRUPTED,
    MAX_ATTEMPTS,
    notices_create,
    notices_deliver,
    notices_recover_interrupted,
)
from policy.models import Notice, PolicyVersion
from policy.services.versions import version_publish
from tests.factories import make_many_verified_users, make_material_draft, make_verified_user
from tests.mail_backends import DyingBackend, FlakyBackend, WorkerKilled
from tests.processes import ROOT, child_env

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="worker processes need a shared server database"
)


@pytest.fixture
def version(privacy, people) -> PolicyVersion:
    """A published material version whose notices exist but are not sent yet."""
    published = version_publish(version=make_material_draft(privacy), by=None)
    notices_create(version=published)
    return published


def recipients(mailoutbox) -> Counter:
    return Counter(address for message in mailoutbox for address in message.to)


def later(monkeypatch, delta: timedelta) -> None:
    """Move the clock forward by `delta`."""
    moment = timezone.now() + delta
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_publishing_a_material_version_tells_each_verified_active_user_once(
    privacy, people, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version = version_publish(version=make_material_draft(privacy), by=None)
    assert recipients(mailoutbox) == Counter(
        {"alice@example.com": 1, "bob@example.com": 1, "carol@example.com": 1}
    )
    assert set(version.notices.values_list("status", flat=True)) == {"sent"}
    assert version.notices.count() == 3


def test_a_non_material_version_sends_no_notice(
    privacy, people, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version_publish(version=make_material_draft(privacy, is_material=False), by=None)
    assert mailoutbox == []
    assert not Notice.objects.exists()


def test_creating_notices_again_creates_no_duplicates(version):
    assert notices_create(version=version) == 3
    assert notices_create(version=version) == 3


def test_notices_are_created_in_batches(version, django_assert_max_num_queries):
    Notice.objects.all().delete()
    for n in range(7):
        make_verified_user(f"extra{n}")
    # 10 users, pages of 3: 4 pages of ids + 4 inserts + 1 empty page + 1 count.
    with django_assert_max_num_queries(12):
        assert notices_create(version=version, batch_size=3) == 10


def test_notices_are_claimed_and_recorded_a_group_at_a_time(
    version, mailoutbox, django_assert_max_num_queries
):
    make_many_verified_users(20)
    assert notices_create(version=version) == 23
    # A group of CLAIM_SIZE costs four queries (the due ids, the claim, the notices with their
    # people, the record) and, inside a test's transaction, the claim's savepoint and release;
    # nothing per notice (a field the load left out would cost one each). What every notice
    # shares (the version, the one before it, its new uses) is loaded once, and what is left
    # afterwards (the next pending, the oldest sending) is asked once.
    groups = -(-23 // CLAIM_SIZE)
    with django_assert_max_num_queries(6 * groups + 9):
        assert notices_deliver().sent == 23
    assert len(mailoutbox) == 23


def test_a_retried_delivery_sends_nothing_twice(version, mailoutbox):
    first = notices_deliver()
    second = notices_deliver()
    assert (first.sent, second.sent) == (3, 0)
    assert recipients(mailoutbox) == Counter(
        {"alice@example.com": 1, "bob@example.com": 1, "carol@example.com": 1}
    )
    assert Notice.objects.filter(status="sent", sent_at__isnull=False).count() == 3


def test_a_failed_send_is_recorded_then_retried_with_backoff(
    version, mailoutbox, settings, monkeypatch
):
    settings.EMAIL_BACKEND = "tests.mail_backends.FlakyBackend"
    monkeypatch.setattr(FlakyBackend, "failing", {"bob@example.com"})
    monkeypatch.setattr(FlakyBackend, "failures_left", 1)

    report = notices_deliver()
    assert (report.sent, report.retrying) == (2, 1)
    notice = Notice.objects.get(user__username="bob")
    assert notice.status == "pending"
    assert notice.attempts == 1
    assert "ConnectionRefusedError" in notice.last_error
    assert notice.next_attempt_at > timezone.now() + timedelta(seconds=50)

    assert notices_deliver().sent == 0  # not due yet: backoff
    later(monkeypatch, timedelta(minutes=2))
    assert notices_deliver().sent == 1
    notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.last_error) == ("sent", 2, "")
    assert recipients(mailoutbox)["bob@example.com"] == 1


class CountingConnectionBackend(LocmemBackend):
    """Counts the connections opened, sends only on an open one, and fails for `failing`."""

    opened = 0
    failing: set[str] = set()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connected = False

    def open(self):
        if self.connected:
            return False
        self.connected = True
        CountingConnectionBackend.opened += 1
        return True

    def close(self):
        self.connected = False

    def send_messages(self, messages):
        assert self.connected, "the connection is opened before a message is handed over"
        if any(set(message.to) & self.failing for message in messages):
            raise ConnectionResetError("the mail server hung up")
        return super().send_messages(messages)


@pytest.mark.parametrize(
    ("per_connection", "failing", "opened", "sent"),
    [(100, set(), 1, 3), (2, set(), 2, 3), (100, {"bob@example.com"}, 2, 2)],
    ids=["one connection", "two connections", "a failure in between"],
)
def test_one_mail_server_connection_per_hundred_messages_and_a_fresh_one_after_a_failure(
    version, mailoutbox, settings, monkeypatch, per_connection, failing, opened, sent
):
    settings.EMAIL_BACKEND = f"{__name__}.CountingConnectionBackend"
    monkeypatch.setattr(CountingConnectionBackend, "opened", 0)
    monkeypatch.setattr(CountingConnectionBackend, "failing", failing)
    report = notices_deliver(couriers=1, per_connection=per_connection)
    assert (report.sent, report.retrying) == (sent, 3 - sent)
    assert CountingConnectionBackend.opened == opened
    assert sorted(recipients(mailoutbox)) == sorted(
        {"alice@example.com", "bob@example.com", "carol@example.com"} - failing
    )


def test_a_notice_that_keeps_failing_ends_up_failed_and_reported(
    version, mailoutbox, settings, monkeypatch
):
    settings.EMAIL_BACKEND = "tests.mail_backends.FlakyBackend"
    monkeypatch.setattr(FlakyBackend, "failing", {"bob@example.com"})
    monkeypatch.setattr(FlakyBackend, "failures_left", 99)
    for attempt in range(MAX_ATTEMPTS):
        later(monkeypatch, timedelta(hours=2 * attempt))
        notices_deliver()
    notice = Notice.objects.get(user__username="bob")
    assert (notice.status, notice.attempts) == ("failed", MAX_ATTEMPTS)
    assert "refused" in notice.last_error
    later(monkeypatch, timedelta(days=2))
    assert notices_deliver().sent == 0  # failed notices wait for a person
    assert recipients(mailoutbox)["bob@example.com"] == 0


def test_a_worker_dying_mid_batch_then_a_rerun_sends_each_notice_at_most_once(
    version, mailoutbox, settings, monkeypatch
):
    settings.EMAIL_BACKEND = "tests.mail_backends.DyingBackend"
    monkeypatch.setattr(DyingBackend, "deliveries_left", 1)
    with pytest.raises(WorkerKilled):
        notices_deliver()
    statuses = Counter(Notice.objects.values_list("status", flat=True))
    assert statuses == Counter({"sent": 1, "sending": 1, "pending": 1})

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notices_deliver().sent == 1  # the pending one; the one in flight is left alone
    in_flight = Notice.objects.get(status="sending")

    later(monkeypatch, timedelta(minutes=20))
    report = notices_deliver()
    assert (report.sent, report.interrupted) == (0, 1)
    in_flight.refresh_from_db()
    assert in_flight.status == "failed"
    assert in_flight.last_error == INTERRUPTED
    counts = recipients(mailoutbox)
    assert max(counts.values()) == 1
    assert sum(counts.values()) == 2
    assert in_flight.user.email not in counts


def test_two_couriers_record_each_outcome_whatever_order_they_come_back_in(
    version, mailoutbox, settings, monkeypatch
):
    settings.EMAIL_BACKEND = "tests.mail_backends.FlakyBackend"
    monkeypatch.setattr(FlakyBackend, "failing", {"bob@example.com"})
    monkeypatch.setattr(FlakyBackend, "failures_left", 1)
    report = notices_deliver(couriers=2)
    assert (report.sent, report.retrying, report.failed) == (2, 1, 0)
    statuses = dict(Notice.objects.values_list("user__username", "status"))
    assert statuses == {"alice": "sent", "bob": "pending", "carol": "sent"}
    assert sorted(recipients(mailoutbox)) == ["alice@example.com", "carol@example.com"]


def test_an_error_mid_group_puts_back_what_the_mail_server_never_saw(
    version, mailoutbox, monkeypatch
):
    import policy.delivery.outbox as outbox

    prepared = []

    def notice_message(notice, shared, *, address):
        if prepared:
            raise KeyboardInterrupt  # the worker is told to stop while preparing the second
        prepared.append(notice.pk)
        return real(notice, shared, address=address)

    real = outbox.notice_message
    monkeypatch.setattr(outbox, "notice_message", notice_message)
    with pytest.raises(KeyboardInterrupt):
        notices_deliver()
    statuses = Counter(Notice.objects.values_list("status", flat=True))
    assert "sending" not in statuses  # nothing is left unknown
    assert statuses["sent"] == len(mailoutbox) <= 1
    assert statuses["sent"] + statuses["pending"] == 3
    assert set(Notice.objects.filter(status="pending").values_list("attempts", flat=True)) == {0}

    before = len(mailoutbox)
    monkeypatch.setattr(outbox, "notice_message", real)
    assert notices_deliver().sent == 3 - before
    assert sorted(recipients(mailoutbox).values()) == [1, 1, 1]


def test_send_policy_notices_shows_progress_and_a_summary(version, mailoutbox):
    out, err = StringIO(), StringIO()
    call_command("send_policy_notices", stdout=out, stderr=err)
    assert "[" + "#" * 30 + "] 3/3 3 sent" in err.getvalue()
    assert "Sent 3; 0 will be retried; 0 failed." in out.getvalue()
    out = StringIO()
    call_command("send_policy_notices", stdout=out)
    assert "No notices are due." in out.getvalue()


# Real worker processes on PostgreSQL: two at once, and one killed with SIGKILL.

WORKER = """
import django
django.setup()
from django.conf import settings
settings.EMAIL_BACKEND = "tests.mail_backends.SlowFileBackend"
settings.TEST_MAIL_DIR = {folder!r}
settings.TEST_MAIL_DELAY = {delay}
from django.core.management import call_command
call_command("send_policy_notices", verbosity=0)
"""


def _worker(folder: Path, delay: float) -> subprocess.Popen:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return subprocess.Popen(
        [sys.executable, "-c", WORKER.format(folder=str(folder), delay=delay)],
        cwd=ROOT,
        env=child_env(DJANGO_DEBUG="on", DATABASE_URL=url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _delivered(folder: Path) -> Counter:
    return Counter(path.name.split("--")[0] for path in folder.iterdir())


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_at_once_deliver_each_notice_once(privacy, tmp_path):
    version = version_publish(version=make_material_draft(privacy), by=None)
    make_many_verified_users(300)  # after publishing, so only the worker processes deliver
    notices_create(version=version)
    workers = [_worker(tmp_path, delay=0.002) for _ in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err.decode()[-2000:]
    delivered = _delivered(tmp_path)
    assert len(delivered) == 300
    assert set(delivered.values()) == {1}
    assert Notice.objects.filter(status="sent").count() == 300


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_killing_a_worker_mid_batch_then_rerunning_never_sends_twice(privacy, tmp_path):
    version = version_publish(version=make_material_draft(privacy), by=None)
    make_many_verified_users(60)  # after publishing, so only the worker processes deliver
    notices_create(version=version)
    victim = _worker(tmp_path, delay=0.05)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.iterdir())) < 15 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    assert Notice.objects.filter(status="pending").exists()  # it really died partway

    rerun = _worker(tmp_path, delay=0.0)
    _, err = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, err.decode()[-2000:]
    interrupted = notices_recover_interrupted(lease=timedelta(0))
    assert 1 <= interrupted <= IN_FLIGHT_MAX  # what the dead worker had claimed and not recorded
    delivered = _delivered(tmp_path)
    assert max(delivered.values()) == 1  # nobody got it twice
    unknown = Notice.objects.exclude(status="sent")
    assert unknown.count() == interrupted
    assert all(notice.last_error == INTERRUPTED for notice in unknown)
    # Each is either in the mail log or not: what a person checks before requeueing.
    assert set(delivered) | set(unknown.values_list("user__email", flat=True)) == set(
        Notice.objects.values_list("user__email", flat=True)
    )
    sent = Notice.objects.filter(status="sent")
    assert sent.count() == 60 - interrupted
    assert set(sent.values_list("user__email", flat=True)) <= set(delivered)
