"""/healthz/ and the database-down page: fail fast with 503, recover without a restart."""

import html
import socket
import time
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.db import OperationalError, ProgrammingError, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from tests.processes import run_child

pytestmark = pytest.mark.django_db


def _broken_cursor(*args, **kwargs):
    raise OperationalError("connection refused")


def _failing_query(*args, **kwargs):
    raise ProgrammingError("a bug, not an outage")


def test_healthz_is_200_when_the_database_answers(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "tasks": {"backend": "immediate"},
    }


def test_healthz_is_503_when_the_database_does_not(client, monkeypatch):
    monkeypatch.setattr(connections["default"], "cursor", _broken_cursor)
    response = client.get(reverse("healthz"))
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.headers["Retry-After"]
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] == "unavailable"


def test_healthz_says_degraded_with_200_when_only_the_cache_is_away(client, monkeypatch):
    """A load balancer keeps sending traffic: pages work without the shared cache."""
    monkeypatch.setattr(cache, "ping", lambda: False, raising=False)
    response = client.get(reverse("healthz"))
    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "degraded"
    assert response.json()["cache"] == "unavailable"


def test_healthz_tells_when_a_queued_task_last_finished(client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    finished = timezone.now() - timedelta(minutes=3)
    DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}}, task_path="x.y", backend_name="default",
        run_after=finished, status=TaskResultStatus.SUCCESSFUL, finished_at=finished,
    )  # fmt: skip
    for run_after in (finished, get_date_max(), timezone.now() + timedelta(minutes=2)):
        DBTaskResult.objects.create(
            args_kwargs={"args": [], "kwargs": {}}, task_path="x.y", backend_name="default",
            run_after=run_after,
        )  # fmt: skip
    tasks = client.get(reverse("healthz")).json()["tasks"]
    assert tasks == {
        "backend": "database",
        "last_finished_at": finished.isoformat(),
        "waiting": 2,  # one due since three minutes ago, one queued to run at once
        "scheduled": 1,  # one due in two minutes
    }


def test_pages_answer_a_friendly_503_when_the_database_is_lost(monkeypatch):
    client = Client(raise_request_exception=False)
    monkeypatch.setattr(connections["default"], "cursor", _broken_cursor)
    response = client.get(reverse("policy:current", kwargs={"document": "privacy"}))
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.headers["Retry-After"] == "30"
    page = response.content.decode()
    assert "Temporarily unavailable" in page
    # Its one button asks for the same page again; the home page needs the database too.
    assert '<a class="button" href="/privacy/">Try again</a>' in page
    assert "Go to the home page" not in page


@pytest.mark.parametrize(
    ("path", "again"),
    [
        ("/accounts/login/?next=/accounts/", "/accounts/login/?next=/accounts/"),
        ("//evil.example/", "/"),
    ],
)
def test_the_503_button_asks_for_the_same_page_on_this_site(monkeypatch, path, again):
    client = Client(raise_request_exception=False)
    monkeypatch.setattr(connections["default"], "cursor", _broken_cursor)
    # PATH_INFO as a server passes it: the test client would read "//host/" as an address.
    url, _, query = path.partition("?")
    page = client.get("/", PATH_INFO=url, QUERY_STRING=query).content.decode()
    assert f'<a class="button" href="{html.escape(again)}">Try again</a>' in page


def test_signed_in_people_get_the_same_503_when_the_database_is_lost(
    monkeypatch, django_user_model
):
    """The session and the user load in middleware, before any view: the same page still."""
    client = Client(raise_request_exception=False)
    client.force_login(django_user_model.objects.create_user("ada", "ada@example.com", "pw"))
    monkeypatch.setattr(connections["default"], "cursor", _broken_cursor)
    response = client.get(reverse("account_overview"))
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.headers["Retry-After"] == "30"
    page = response.content.decode()
    assert "Temporarily unavailable" in page
    # Who is signed in cannot be known without the database: no "Login" or "Register" links
    # that would tell a signed-in person they were signed out.
    assert 'aria-label="Account"' not in page and "Register" not in page


def test_other_server_errors_stay_500(monkeypatch):
    client = Client(raise_request_exception=False)
    monkeypatch.setattr(connections["default"], "cursor", _failing_query)
    response = client.get(reverse("account_login"))
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Retry-After" not in response.headers
    assert 'aria-label="Account"' not in response.content.decode()


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
    # Logs go to standard output as well: the answer is the last line.
    assert result.stdout.strip().splitlines()[-1] == "503", result.stderr
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
    assert result.stdout.strip().splitlines()[-1] == "[200, 503, 200, 200]", result.stderr[-2000:]
