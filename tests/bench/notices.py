"""Benchmark (not a test): publish a material change to many users, then deliver by SMTP.

Run by `make bench`. It uses its own database (a fresh SQLite file unless BENCH_DATABASE_URL
names another), DEBUG off as in production, and an SMTP sink (aiosmtpd on 127.0.0.1) that runs
in a process of its own, so the sink never shares the sender's interpreter lock. In the same
run, a raw `smtplib` sender (one connection, the same message bytes as a real notice, nothing
else to do) measures what the sink and the protocol allow: the limit. It prints notices created
per second, the app's messages per second, the raw sender's, their ratio (goal: at least 0.5)
and the sending process's peak memory (goal: under 200 MB).

    python -m tests.bench.notices [--users 100000] [--send-seconds 20] [--profile FILE]
"""

import argparse
import contextlib
import os
import re
import resource
import secrets
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.processes import ROOT, free_port

RSS_LIMIT_MB = 200
RATIO_GOAL = 0.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--send-seconds", type=float, default=20.0, help="Time spent sending.")
    parser.add_argument("--profile", help="Write a cProfile of the app's sending to this file.")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)  # run as the sink process
    args = parser.parse_args()
    if args.sink:
        return _serve_sink(args.sink)

    workdir = Path(tempfile.mkdtemp(prefix="pamedspa-bench-"))
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "pamedspa.settings"
    # As in production: DEBUG on would also keep every SQL query in memory.
    os.environ["DJANGO_DEBUG"] = "off"
    os.environ["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["DJANGO_SITE_URL"] = "https://www.pamedspa.biz"
    os.environ["DJANGO_ENV_FILE"] = ""
    os.environ.pop("REDIS_URL", None)

    import logging

    import django
    from django.conf import settings

    # Before setup: importing the app's tasks (at setup, through the admin) fixes the backend.
    # The benchmark creates and sends the notices itself, so publishing must queue nothing.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    django.setup()
    logging.getLogger("django_tasks").setLevel(logging.WARNING)
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0, interactive=False)
        with Sink() as sink:
            return _run(args, settings, sink)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(args, settings, sink) -> int:
    from datetime import timedelta

    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from policy.delivery.outbox import notices_create, notices_deliver
    from policy.models import Document, Notice, PolicyVersion
    from policy.services.versions import version_draft_save, version_publish

    user_model = get_user_model()
    started = time.perf_counter()
    for first in range(0, args.users, 5000):
        users = user_model.objects.bulk_create(
            user_model(username=f"bench{n}", email=f"bench{n}@example.test", password="!")
            for n in range(first, min(first + 5000, args.users))
        )
        EmailAddress.objects.bulk_create(
            EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users
        )
    seconds = time.perf_counter() - started
    print(f"setup: {args.users:,} users in {seconds:.1f} s ({connection.vendor})")

    document = Document.objects.get(slug="privacy")
    version = version_publish(
        version=version_draft_save(
            version=PolicyVersion(
                document=document,
                title="Privacy Policy",
                body=document.versions.get(number=1).body + "\n\n## 7. Partners\n\nNew use.\n",
                summary="Benchmark change.",
                is_material=True,
                effective_at=timezone.now() + timedelta(days=31),
            ),
            by=None,
        ),
        by=None,
    )

    started = time.perf_counter()
    created = notices_create(version=version)
    create_seconds = time.perf_counter() - started

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    sample = _sample_notice(Notice.objects.filter(version=version).order_by("pk").first())

    # The raw sender runs half its time before the app and half after, so that a neighbour's
    # burst on this shared machine weighs on both sides rather than on one.
    raw = [_raw_send(sink, sample, args.send_seconds / 2)]
    setup_peak_mb = _peak_rss_mb()  # users, notices and the first raw half
    _reset_peak_rss()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    before = sink.stats()
    sent, started = 0, time.perf_counter()
    while time.perf_counter() - started < args.send_seconds:
        report = notices_deliver(limit=500)
        sent += report.sent
        if report.sent == 0:
            break
    send_seconds = time.perf_counter() - started
    app = sink.stats() - before
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    sending_peak_mb = _peak_rss_mb()
    raw.append(_raw_send(sink, sample, args.send_seconds / 2))
    peak_mb = max(setup_peak_mb, _peak_rss_mb())
    duplicates = Notice.objects.filter(status="sent").count() != sent

    raw_sent, raw_seconds = sum(r[0] for r in raw), sum(r[1] for r in raw)
    raw_sink = raw[0][2] + raw[1][2]
    created_rate, sent_rate = created / create_seconds, sent / send_seconds
    raw_rate = raw_sent / raw_seconds
    ratio = sent_rate / raw_rate
    print(f"notices created: {created:,} in {create_seconds:.1f} s = {created_rate:,.0f}/s")
    print(
        f"app sender:      {sent:,} notices in {send_seconds:.1f} s = {sent_rate:,.0f} msg/s "
        f"(the site's delivery code, one process, {app.bytes / max(app.messages, 1) / 1024:.1f} KB "
        f"each; sink busy {app.cpu / send_seconds:.0%})"
    )
    print(
        f"raw smtplib:     {raw_sent:,} messages in {raw_seconds:.1f} s = {raw_rate:,.0f} msg/s "
        f"(one connection, the same {len(sample) / 1024:.1f} KB message; "
        f"sink busy {raw_sink.cpu / raw_seconds:.0%})"
    )
    print(
        f"ratio app / raw: {ratio:.2f} (goal >= {RATIO_GOAL}) -> "
        f"{'MET' if ratio >= RATIO_GOAL else 'NOT MET'}"
    )
    print(
        f"peak RSS:        {sending_peak_mb:.0f} MB while sending, {peak_mb:.0f} MB for the whole "
        f"run with setup (sending process; goal < {RSS_LIMIT_MB} MB) -> "
        f"{'MET' if peak_mb < RSS_LIMIT_MB else 'NOT MET'}"
    )
    lost = app.messages != sent
    if lost:
        print(f"the sink received {app.messages:,} messages for {sent:,} notices sent")
    return 1 if created != args.users or duplicates or lost else 0


def _sample_notice(notice) -> bytes:
    """The bytes one real notice puts on the wire (rendered by the site's code, not sent)."""
    from policy.delivery.messages import notice_context, notice_message
    from policy.models import Notice

    notice = Notice.objects.select_related("user").with_address().get(pk=notice.pk)
    message = notice_message(
        notice, notice_context("version", notice.version_id), address=notice.address
    )
    return message.message().as_bytes(linesep="\r\n")


def _raw_send(sink, message: bytes, seconds: float):
    """(messages, seconds, sink stats) from plain smtplib: one connection, nothing else to do."""
    before = sink.stats()
    sent, started = 0, time.perf_counter()
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        while time.perf_counter() - started < seconds:
            smtp.sendmail("notices@pamedspa.biz", [f"raw{sent}@example.test"], message)
            sent += 1
    elapsed = time.perf_counter() - started
    return sent, elapsed, sink.stats() - before


def _reset_peak_rss() -> None:
    """Start this process's VmHWM afresh (Linux), so the sending phase has its own peak.

    It resets getrusage's ru_maxrss too, so the peak before it must be read first.
    """
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mb() -> float:
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class SinkStats:
    def __init__(self, messages: int, size: int, cpu: float):
        self.messages, self.bytes, self.cpu = messages, size, cpu

    def __sub__(self, other):
        return SinkStats(self.messages - other.messages, self.bytes - other.bytes,
                         self.cpu - other.cpu)  # fmt: skip

    def __add__(self, other):
        return SinkStats(self.messages + other.messages, self.bytes + other.bytes,
                         self.cpu + other.cpu)  # fmt: skip


class Sink:
    """The SMTP sink, in a process of its own: counts what it receives and drops it."""

    def __enter__(self):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.notices", "--sink", str(self.port)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("the SMTP sink did not start")
        return self

    def stats(self) -> SinkStats:
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        messages, size, cpu = self.process.stdout.readline().split()
        return SinkStats(int(messages), int(size), float(cpu))

    def __exit__(self, *exc):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _serve_sink(port: int) -> int:
    """Accept and drop every message on 127.0.0.1:`port`; answer "stats" lines on stdin with
    "messages bytes cpu-seconds"; stop at the end of stdin."""
    import asyncio

    from aiosmtpd.smtp import SMTP

    received = [0, 0]

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received[0] += 1
            received[1] += len(envelope.original_content or b"")
            return "250 OK"

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Handler(), hostname="sink.test"), "127.0.0.1", port
        )
        done = loop.create_future()

        def command():
            if not sys.stdin.readline():
                loop.remove_reader(sys.stdin.fileno())
                done.set_result(None)
                return
            times = os.times()
            print(received[0], received[1], times.user + times.system, flush=True)

        loop.add_reader(sys.stdin.fileno(), command)
        print("ready", flush=True)
        await done
        server.close()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
