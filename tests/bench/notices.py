"""Benchmark (not a test): publish a material change to many users, then deliver by SMTP.

Run by `make bench`. It uses its own database (a fresh SQLite file unless BENCH_DATABASE_URL
names another) and a local SMTP sink (aiosmtpd on 127.0.0.1), and prints notices created per
second, messages sent per second and the peak memory of this one process.

    python -m tests.bench.notices [--users 100000] [--send-seconds 20]
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from tests.processes import free_port

RSS_LIMIT_MB = 200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--send-seconds", type=float, default=20.0, help="Time spent sending.")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="pamedspa-bench-"))
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pamedspa.settings")
    os.environ.setdefault("DJANGO_DEBUG", "on")
    os.environ["DJANGO_ENV_FILE"] = ""
    os.environ.pop("REDIS_URL", None)

    import logging

    import django
    from django.conf import settings

    # Before setup: importing the app's tasks (at setup, through the admin) fixes the backend.
    # The benchmark creates and sends the notices itself, so publishing must queue nothing.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    django.setup()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-message chatter
    logging.getLogger("django_tasks").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    sink, port = _smtp_sink()
    try:
        return _run(args, settings, port)
    finally:
        sink.stop()


def _run(args, settings, port: int) -> int:
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
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    sent, started = 0, time.perf_counter()
    while time.perf_counter() - started < args.send_seconds:
        report = notices_deliver(limit=500)
        sent += report.sent
        if report.sent == 0:
            break
    send_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    duplicates = Notice.objects.filter(status="sent").count() != sent

    created_rate, sent_rate = created / create_seconds, sent / send_seconds
    print(f"notices created: {created:,} in {create_seconds:.1f} s = {created_rate:,.0f}/s")
    print(f"messages sent:   {sent:,} in {send_seconds:.1f} s = {sent_rate:,.0f}/s (SMTP sink)")
    print(
        f"peak RSS:        {peak_mb:.0f} MB (limit {RSS_LIMIT_MB} MB) -> "
        f"{'OK' if peak_mb < RSS_LIMIT_MB else 'OVER'}"
    )
    return 1 if created != args.users or duplicates else 0


def _smtp_sink():
    """An SMTP server on 127.0.0.1 that accepts and drops every message."""
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


if __name__ == "__main__":
    sys.exit(main())
