"""Reads don't pay for writes: a GET runs outside a transaction, a POST inside one.

On SQLite, opening a transaction takes the database's write lock (BEGIN IMMEDIATE), so every
page view used to queue behind every other. Writes keep their transaction: the rollback that
leaves no half-made account when the mail server is down (tests/accounts/test_mail_failure.py)
depends on it.
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import login, make_verified_user
from tests.processes import run_child
from tests.test_settings import settings_under

pytestmark = pytest.mark.django_db


def _transaction_statements(queries: list[dict]) -> list[str]:
    # In tests every request runs inside the test's own transaction, so a request's
    # transaction shows as a savepoint.
    return [q["sql"] for q in queries if q["sql"].startswith(("SAVEPOINT", "BEGIN"))]


@pytest.mark.parametrize("name", ["account_login", "account_signup", "account_reset_password"])
def test_a_get_opens_no_transaction(client, name):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse(name)).status_code == 200
    assert _transaction_statements(captured.captured_queries) == []


def test_a_signed_in_get_opens_no_transaction(client, settings):
    # (allauth's session tracking writes "last seen" on each request, in a transaction of its
    # own, outside the view: not what this test is about.)
    settings.USERSESSIONS_TRACK_ACTIVITY = False
    make_verified_user("alice")
    login(client, "alice")
    client.get(reverse("account_overview"))  # shows "signed in" once: the session is saved
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("account_overview")).status_code == 200
    assert _transaction_statements(captured.captured_queries) == []


def test_a_post_still_runs_in_one_transaction(client):
    make_verified_user("alice")
    with CaptureQueriesContext(connection) as captured:
        client.post(reverse("account_login"), {"login": "alice", "password": "wrong"})
    assert len(_transaction_statements(captured.captured_queries)) == 1


ON_A_FILE = """
import json, django; django.setup()
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
call_command("migrate", verbosity=0)
client, seen, began = Client(), {}, []
begin = connection._start_transaction_under_autocommit  # BEGIN IMMEDIATE, on SQLite
connection._start_transaction_under_autocommit = lambda: (began.append(1), begin())
for method in ("get", "post"):
    began.clear()
    status = getattr(client, method)("/accounts/login/").status_code
    seen[method] = [status, len(began)]
print(json.dumps(seen))
"""


def test_on_sqlite_a_get_never_takes_the_write_lock(tmp_path):
    result = run_child(
        ["-c", ON_A_FILE],
        DJANGO_DEBUG="on",
        DJANGO_ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_CACHE_DIR=str(tmp_path / "cache"),
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    # [status, transactions begun]: the POST is a login form with errors.
    assert seen == {"get": [200, 0], "post": [200, 1]}, result.stderr[-2000:]


def test_sqlite_connections_persist_and_are_checked_before_reuse(tmp_path):
    database = settings_under(
        ["DATABASES"], DJANGO_DEBUG="on", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"
    )["DATABASES"]["default"]
    assert database["CONN_MAX_AGE"] > 0
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"  # writers still queue
