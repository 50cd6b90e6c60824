"""A database outage, on a PostgreSQL this test starts in a temporary folder (never the machine's).

While it is down, pages that need the database answer a friendly 503 with Retry-After within
the connect timeout, /healthz/ says 503 and static files still serve. When it comes back, the
next requests succeed with no restart of gunicorn.
"""

import contextlib
import glob
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.factories import PASSWORD
from tests.integration.sites import MAKE_USER
from tests.integration.test_scale_out import Browser
from tests.processes import ROOT, child_env, free_port

BINDIR = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"))), None)
pytestmark = pytest.mark.skipif(
    BINDIR is None or not shutil.which("runuser") and os.geteuid() == 0,
    reason="needs PostgreSQL's server binaries (initdb, pg_ctl)",
)


class OwnPostgres:
    """A throwaway PostgreSQL cluster in a temporary folder, on a free loopback port."""

    def __init__(self):
        # Under /tmp itself: the postgres user cannot enter pytest's root-only folders.
        folder = Path(tempfile.mkdtemp(prefix="pamedspa-outage-pg-"))
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "postgres.log"
        self.port = free_port()
        if os.geteuid() == 0:  # the server refuses to run as root
            shutil.chown(folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        command = [f"{BINDIR}/{tool}", *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode:
            raise RuntimeError(f"{tool} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"


def _get(url: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    try:
        response = urllib.request.urlopen(url, timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    response.read()
    return response.status, dict(response.headers), time.monotonic() - started


@pytest.fixture
def site():
    database = OwnPostgres()
    database.start()
    env = child_env(
        DJANGO_DEBUG="off",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_HTTPS="off",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database.url,
        DJANGO_DB_CONNECT_TIMEOUT="2",
        WEB_CONCURRENCY="2",
    )
    for command in (["migrate", "--no-input", "-v0"], ["collectstatic", "--no-input", "-v0"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "-c", MAKE_USER], cwd=ROOT, env=env, check=True)
    port = free_port()
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "pamedspa/gunicorn.conf.py",
         "--no-control-socket", "--bind", f"127.0.0.1:{port}", "pamedspa.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _get(base + "/healthz/")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    try:
        yield base, database
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        with contextlib.suppress(RuntimeError):  # already stopped by the test
            database.stop()
        shutil.rmtree(database.folder, ignore_errors=True)


def test_an_outage_gives_fast_503s_and_the_site_recovers_without_a_restart(site):
    base, database = site
    page = urllib.request.urlopen(base + "/privacy/", timeout=30).read().decode()
    css = base + page.split('rel="stylesheet" href="')[1].split('"')[0]
    assert _get(base + "/privacy/versions/")[0] == 200

    signed_in = Browser(base)
    assert "Signed in as <strong>alice</strong>" in signed_in.log_in("alice").text
    visitor = Browser(base)  # with the login form open when the database goes away
    form = visitor.get("/accounts/login/").text
    token = {"csrfmiddlewaretoken": form.split('name="csrfmiddlewaretoken" value="')[1][:64]}

    database.stop()
    # Signed in, the session and the user are loaded before any view: the same 503 page.
    started = time.monotonic()
    page = signed_in.get("/accounts/")
    assert (page.status, time.monotonic() - started < 5) == (503, True)
    assert "Temporarily unavailable" in page.text
    # A page that needs the database (a kept policy page may still be served by the worker
    # that kept it, so it proves nothing either way).
    status, headers, seconds = _get(base + "/privacy/versions/99/")
    assert status == 503
    assert headers["Retry-After"]
    assert seconds < 5  # the 2 s connect timeout, not gunicorn's 30 s worker timeout
    health, _, seconds = _get(base + "/healthz/")
    assert (health, seconds < 5) == (503, True)
    assert _get(css)[0] == 200  # whitenoise needs no database
    # Logging in needs the database: a person trying gets the 503 page, not an error.
    page = visitor.post("/accounts/login/", {"login": "alice", "password": PASSWORD, **token})
    assert (page.status, "Temporarily unavailable" in page.text) == (503, True)

    database.start()
    assert _get(base + "/privacy/versions/")[0] == 200  # the very next request
    assert _get(base + "/healthz/")[0] == 200
