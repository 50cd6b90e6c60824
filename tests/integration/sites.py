"""The pieces the real-server tests share: a private Redis, and the site under gunicorn over a
SQLite file of its own, with one verified person (alice) in it."""

import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from tests.factories import PASSWORD
from tests.integration.test_scale_out import Instance, _stop, _wait_until_healthy
from tests.processes import ROOT, free_port, production_env

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
MAKE_USER = f"""
import django; django.setup()
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
user = get_user_model().objects.create_user("alice", "alice@example.com", {PASSWORD!r})
EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
"""


class OwnRedis:
    """A redis-server of the test's own on a free port, keeping nothing on disk."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@contextmanager
def gunicorn_site(folder: Path, **env: str):
    """The site as production runs it (debug off, gunicorn), over `folder`/db.sqlite3, with
    alice; `env` adds settings. Yields (instance, the environment it runs with)."""
    env = production_env(
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        DJANGO_CACHE_DIR=str(folder / "cache"),
        **env,
    )
    for args in (["manage.py", "migrate", "--no-input", "-v0"],
                 ["manage.py", "collectstatic", "--no-input", "-v0"],
                 ["-c", MAKE_USER]):  # fmt: skip
        subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True, timeout=180)
    port = free_port()
    log = folder / "gunicorn.log"
    with log.open("wb") as stream:
        process = subprocess.Popen(
            [GUNICORN, "--config", "pamedspa/gunicorn.conf.py", "--no-control-socket",
             "--bind", f"127.0.0.1:{port}", "pamedspa.wsgi"],
            cwd=ROOT, env=env, stdout=stream, stderr=subprocess.STDOUT,
        )  # fmt: skip
    instance = Instance(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_healthy(instance, time.monotonic() + 60)
        yield instance, env
    finally:
        _stop(process)
