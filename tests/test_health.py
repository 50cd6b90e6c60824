"""/healthz/ and the database-down page: fail fast with 503, recover without a restart."""

import os
import socket
import subprocess
import sys
import time
from http import HTTPStatus
from pathlib import Path

import pytest
from django.db import OperationalError, connections
from django.urls import reverse

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


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
    monkeypatch.setattr("policy.views.render", _broken_cursor)
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
        env = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_URL")}
        env |= {
            "DJANGO_DEBUG": "on",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/pamedspa",
            "DJANGO_DB_CONNECT_TIMEOUT": "2",
            "DJANGO_SETTINGS_MODULE": "pamedspa.settings",
        }
        script = (
            "import django; django.setup(); from django.test import Client;"
            "print(Client().get('/healthz/').status_code)"
        )
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        elapsed = time.monotonic() - started
    assert result.stdout.strip() == "503", result.stderr
    assert elapsed < 10
