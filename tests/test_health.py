"""/healthz/ and the database-down page: fail fast with 503, recover without a restart."""

import socket
import time
from http import HTTPStatus

import pytest
from django.db import OperationalError, connections
from django.urls import reverse

from tests.processes import run_child

pytestmark = pytest.mark.django_db


def _broken_cursor(*args, **kwargs):
    raise OperationalError("connection refused")


def test_healthz_is_200_when_the_database_answers(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == HTTPStatus.OK
    assert response.content == b"ok\n"


def test_healthz_is_503_when_the_database_does_not(client, monkeypatch):
    monkeypatch.setattr(connections["default"], "cursor", _broken_cursor)
    response = client.get(reverse("healthz"))
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.headers["Retry-After"]


def test_pages_answer_a_friendly_503_when_the_database_is_lost(client, monkeypatch):
    monkeypatch.setattr(connections["default"], "cursor", _broken_cursor)
    response = client.get(reverse("policy:current", kwargs={"document": "privacy"}))
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.headers["Retry-After"] == "30"
    assert "Temporarily unavailable" in response.content.decode()


def test_healthz_gives_up_within_the_connect_timeout_when_postgres_hangs():
    """A server that accepts TCP but never speaks must not hang the request."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        script = (
            "import django; django.setup(); from django.test import Client;"
            "print(Client().get('/healthz/').status_code)"
        )
        started = time.monotonic()
        result = run_child(
            ["-c", script],
            DJANGO_DEBUG="on",
            DJANGO_ALLOWED_HOSTS="testserver",
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/pamedspa",
            DJANGO_DB_CONNECT_TIMEOUT="2",
        )
        elapsed = time.monotonic() - started
    assert result.stdout.strip() == "503", result.stderr
    assert elapsed < 10


# Served by a real WSGI server: Django's test Client disconnects the per-request connection
# checks (close_old_connections), so it could not show recovery the way gunicorn does.
RECOVERY = """
import os, threading, urllib.error, urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server
from tests.tcp_proxy import TcpProxy
proxy = TcpProxy(({host!r}, {port}))
port = proxy.start()
os.environ["DATABASE_URL"] = f"postgres://{user}@127.0.0.1:{{port}}/postgres"
from django.core.wsgi import get_wsgi_application
WSGIRequestHandler.log_message = lambda *args: None
server = make_server("127.0.0.1", 0, get_wsgi_application())
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{{server.server_port}}/healthz/"
def status():
    try:
        return urllib.request.urlopen(url, timeout=20).status
    except urllib.error.HTTPError as error:
        return error.code
codes = [status()]
proxy.cut()
codes.append(status())
proxy.start()
codes += [status(), status()]
print(codes)
"""


@pytest.mark.skipif(
    connections["default"].vendor != "postgresql", reason="needs the PostgreSQL server"
)
def test_site_recovers_when_the_database_comes_back_without_a_restart():
    db = connections["default"].settings_dict
    script = RECOVERY.format(
        host=db["HOST"] or "127.0.0.1", port=int(db["PORT"] or 5432), user=db["USER"]
    )
    result = run_child(["-c", script], DJANGO_DEBUG="on", DJANGO_ALLOWED_HOSTS="127.0.0.1")
    assert result.stdout.strip() == "[200, 503, 200, 200]", result.stderr[-2000:]
