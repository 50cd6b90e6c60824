"""Errors reach a person: mailed to ADMINS without a flood, one line per event on stdout, and
to Sentry when it is set up, without personal data."""

import gzip
import json
import threading
import uuid
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from django.urls import reverse

from pamedspa import health
from tests.processes import run_child

pytestmark = pytest.mark.django_db


def _broken(message: str):
    def tasks_state():
        raise RuntimeError(message)

    return tasks_state


def _a_bug():
    raise LookupError("raised here")


def _another_bug():
    raise ValueError("raised somewhere else")


def test_a_server_error_is_mailed_to_the_admins_once_per_interval(
    settings, mailoutbox, monkeypatch
):
    settings.ADMINS = [("Office", "office@example.com")]
    client = Client(raise_request_exception=False)
    monkeypatch.setattr(health, "_tasks_state", _broken(f"bug {uuid.uuid4()}"))
    for _ in range(5):
        assert client.get(reverse("healthz")).status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["office@example.com"]
    assert "RuntimeError" in mailoutbox[0].body


def test_a_different_error_is_mailed_at_once(settings, mailoutbox, monkeypatch):
    settings.ADMINS = [("Office", "office@example.com")]
    client = Client(raise_request_exception=False)
    monkeypatch.setattr(health, "_tasks_state", _a_bug)
    client.get(reverse("healthz"))
    monkeypatch.setattr(health, "_database_state", _another_bug)
    client.get(reverse("healthz"))
    client.get(reverse("healthz"))
    assert len(mailoutbox) == 2


LOG_ONE_EXCEPTION = """
import logging, django; django.setup()
try:
    {}["missing"]
except KeyError:
    logging.getLogger("pamedspa.test").exception("first line\\nsecond line")
logging.getLogger("pamedspa.test").info("next event")
"""


def test_each_event_is_one_line_on_standard_output():
    result = run_child(["-c", LOG_ONE_EXCEPTION], DJANGO_DEBUG="on")
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    assert "ERROR pamedspa.test first line | second line | Traceback" in lines[0]
    assert lines[0].endswith("KeyError: 'missing'")
    assert lines[1].endswith("INFO pamedspa.test next event")
    assert result.stderr == ""


class _Ingest(BaseHTTPRequestHandler):
    """A stand-in for Sentry's ingest endpoint: keeps every envelope it is sent."""

    received: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli  # only if the SDK chose it

            body = brotli.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


SENTRY_ERROR = """
import django; django.setup()
import sentry_sdk
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from pamedspa import health
call_command("migrate", verbosity=0)
call_command("collectstatic", verbosity=0, interactive=False)  # the 500 page, with debug off
user = get_user_model().objects.create_user("ada", "ada.lovelace@example.com", "pw-Secret-123")
client = Client(raise_request_exception=False, HTTP_X_FORWARDED_FOR="203.0.113.9")
client.force_login(user)
def fail():
    person = user.email  # a local variable the stack would otherwise carry
    raise RuntimeError("the health check broke")
health._tasks_state = fail
print(client.session.session_key)
print(client.get("/healthz/?email=ada.lovelace@example.com&token=tok-SECRET-42").status_code)
sentry_sdk.flush(5)
"""


def test_sentry_gets_the_error_without_personal_data(tmp_path):
    _Ingest.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = run_child(
            ["-c", SENTRY_ERROR],
            DJANGO_DEBUG="off",
            DJANGO_SECRET_KEY="x" * 50,
            DJANGO_HTTPS="off",
            DJANGO_ALLOWED_HOSTS="testserver",
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            DJANGO_CACHE_DIR=str(tmp_path / "cache"),
            SENTRY_DSN=f"http://public@127.0.0.1:{server.server_port}/1",
        )
    finally:
        server.shutdown()
    assert result.stdout.strip().splitlines()[-1] == "500", result.stderr[-2000:]
    sent = b"\n".join(_Ingest.received).decode()
    assert "the health check broke" in sent and "RuntimeError" in sent
    events = [json.loads(line) for line in sent.splitlines() if '"exception"' in line]
    assert events, sent[:2000]
    session_key = result.stdout.strip().splitlines()[-2]
    for secret in ["ada.lovelace", "203.0.113.9", "tok-SECRET-42", "sessionid", '"ada"',
                   session_key]:  # fmt: skip
        assert secret not in sent, secret


def test_without_a_dsn_sentry_is_off():
    script = "import django; django.setup(); import sentry_sdk; print(sentry_sdk.is_initialized())"
    result = run_child(["-c", script], DJANGO_DEBUG="on")
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr
