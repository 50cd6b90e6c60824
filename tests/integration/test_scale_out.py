"""Two gunicorn instances sharing one PostgreSQL database and one Redis behave as one site.

A login made on one instance is valid on the other, a login rate limit tripped through one
holds on the other, a version published through one is current on the other at once, and two
db_worker processes sharing one fan-out send each person exactly one notice.

Needs a server database and Redis, so it runs in .ci/run's PostgreSQL + Redis pass and skips
elsewhere. The instances serve the pytest test database, so what a test commits (these tests
are transactional) is what they see, and the cache is the Redis database the tests clear.
"""

import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import quote, urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from policy.caching import snapshots
from policy.models import Notice
from policy.services.versions import version_publish
from tests.factories import (
    PASSWORD,
    make_draft,
    make_many_verified_users,
    make_material_draft,
    make_verified_user,
)
from tests.processes import ROOT, child_env, free_port, production_env

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"),
        reason="scale-out needs a shared server database (PostgreSQL) and REDIS_URL",
    ),
    pytest.mark.django_db(transaction=True),
    # The instances load the project's settings: they could not check a fast test hash.
    pytest.mark.real_hashers,
]

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
STARTUP_SECONDS = 60
WORKER_SECONDS = 300
USERS = 2000


def _database_url() -> str:
    """The pytest test database (NAME is the test database's once it is set up)."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{quote(db['USER'] or '', safe='')}{password}@{host}/{db['NAME']}"


@dataclass
class Page:
    status: int
    url: str
    text: str


class Browser:
    """One person's browser talking to one instance: its own cookie jar, the standard library.

    A cookie jar shares cookies for 127.0.0.1 across ports, which a real browser would not, so
    each test uses one Browser per instance and copies a cookie across only on purpose.
    """

    def __init__(self, base: str, **headers: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.jar))
        self.headers = headers

    def get(self, path: str) -> Page:
        return self._open(Request(self.base + path, headers=self.headers))

    def post(self, path: str, fields: dict[str, str]) -> Page:
        data = urlencode(fields).encode()
        return self._open(Request(self.base + path, data=data, headers=self.headers))

    def submit(self, path: str, fields: dict[str, str]) -> Page:
        """Load the form at `path`, then post `fields` with its CSRF token, as a person would."""
        form = self.get(path)
        assert form.status == 200, form.text[-2000:]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, f"no CSRF token on {path}"
        return self.post(path, {**fields, "csrfmiddlewaretoken": token.group(1)})

    def log_in(self, username: str, password: str = PASSWORD) -> Page:
        return self.submit("/accounts/login/", {"login": username, "password": password})

    def cookie(self, name: str) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == name)

    def _open(self, request: Request) -> Page:
        try:
            with self.opener.open(request, timeout=30) as response:
                return Page(response.status, response.url, response.read().decode())
        except HTTPError as error:
            with error:
                return Page(error.code, error.url, error.read().decode())


@dataclass
class Instance:
    base: str
    process: subprocess.Popen
    log: Path

    @property
    def host(self) -> str:
        return self.base.removeprefix("http://")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _wait_until_healthy(instance: Instance, deadline: float) -> None:
    while time.monotonic() < deadline:
        assert instance.process.poll() is None, f"gunicorn exited:\n{instance.log_tail()}"
        try:
            if Browser(instance.base).get("/healthz/").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{instance.base} was not healthy in time:\n{instance.log_tail()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def sites(django_db_setup, tmp_path_factory):
    """Two gunicorn instances, A and B, with one configuration, on two ports of 127.0.0.1."""
    env = production_env(
        DATABASE_URL=_database_url(),
        REDIS_URL=os.environ["REDIS_URL"],
    )
    # DEBUG off serves static files through the manifest, which collectstatic writes.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT, env=env, check=True, timeout=120,
    )  # fmt: skip
    logs = tmp_path_factory.mktemp("gunicorn")
    instances = []
    try:
        for name in "ab":
            port = free_port()
            log = logs / f"{name}.log"
            with log.open("wb") as stream:
                process = subprocess.Popen(
                    [GUNICORN, "--config", "pamedspa/gunicorn.conf.py", "--no-control-socket",
                     "--workers", "2", "--bind", f"127.0.0.1:{port}", "pamedspa.wsgi"],
                    cwd=ROOT, env=env, stdout=stream, stderr=subprocess.STDOUT,
                )  # fmt: skip
            instances.append(Instance(f"http://127.0.0.1:{port}", process, log))
        deadline = time.monotonic() + STARTUP_SECONDS
        for instance in instances:
            _wait_until_healthy(instance, deadline)
        yield tuple(instances)
    finally:
        for instance in instances:
            _stop(instance.process)


# (1) Sessions


def test_a_session_made_by_logging_in_on_a_is_valid_on_b(sites):
    a, b = sites
    make_verified_user("alice")
    on_a = Browser(a.base)
    page = on_a.log_in("alice")
    assert page.url == a.base + "/accounts/"
    assert "Signed in as <strong>alice</strong>" in page.text

    # A different browser, pointed at B, carrying only A's session cookie.
    on_b = Browser(b.base, Cookie=f"sessionid={on_a.cookie('sessionid')}")
    page = on_b.get("/accounts/")
    assert (page.status, page.url) == (200, b.base + "/accounts/")
    assert "Signed in as <strong>alice</strong>" in page.text


def test_without_the_session_cookie_b_sends_the_visitor_to_log_in(sites):
    _, b = sites
    make_verified_user("alice")
    for browser in [Browser(b.base), Browser(b.base, Cookie="sessionid=made-up")]:
        page = browser.get("/accounts/")
        assert page.url == b.base + "/accounts/login/?next=/accounts/"
        assert "Signed in as" not in page.text


# (2) Login rate limits


def _five_wrong_passwords(browser: Browser, username: str) -> None:
    for _ in range(5):
        page = browser.log_in(username, "not the password")
        assert page.status == 200
        assert "Too many wrong passwords for this login" not in page.text


def test_a_login_rate_limit_tripped_through_a_holds_on_b(sites):
    a, b = sites
    make_verified_user("bob")
    make_verified_user("carol")
    _five_wrong_passwords(Browser(a.base), "bob")

    page = Browser(b.base).log_in("bob")
    assert page.status == 200
    assert "Too many wrong passwords for this login" in page.text
    assert "Signed in as" not in page.text

    page = Browser(b.base).log_in("carol")
    assert "Signed in as <strong>carol</strong>" in page.text


def test_a_login_rate_limit_tripped_through_a_holds_on_b_behind_one_host_name(sites):
    """As behind a load balancer: every instance sees the site's one Host header."""
    a, b = sites
    make_verified_user("bob")
    make_verified_user("carol")
    _five_wrong_passwords(Browser(a.base, Host=a.host), "bob")

    page = Browser(b.base, Host=a.host).log_in("bob")
    assert page.status == 200
    assert "Too many wrong passwords for this login" in page.text
    assert "Signed in as" not in page.text

    page = Browser(b.base, Host=a.host).log_in("carol")
    assert "Signed in as <strong>carol</strong>" in page.text


# (3) Publishing


def test_a_version_published_through_a_is_current_on_b_at_once(sites, privacy):
    a, b = sites
    make_verified_user("editor", is_staff=True, is_superuser=True)
    draft = make_draft(
        privacy,
        body="## Instances\n\nPublished through one instance, read through the other.",
        summary="Said how instances share the policy.",
    )
    reader = Browser(b.base)
    before = reader.get("/privacy/")  # B now caches version 1 (for up to 300 s)
    assert before.status == 200
    assert "Version 1" in before.text
    assert "read through the other" not in before.text
    assert snapshots.shared_token("privacy") is not None  # B's copy, in the shared cache

    editor = Browser(a.base)
    assert "Signed in as <strong>editor</strong>" in editor.log_in("editor").text
    page = editor.submit(f"/admin/policy/policyversion/{draft.pk}/publish/", {})
    assert page.url == a.base + f"/admin/policy/policyversion/{draft.pk}/change/"
    assert "It is now part of the public record." in page.text

    after = reader.get("/privacy/")
    assert after.status == 200
    assert "Version 2" in after.text
    assert "Published through one instance, read through the other." in after.text


# (4) Notices


def _db_worker(mail: Path, log: Path) -> subprocess.Popen:
    env = child_env(
        DJANGO_DEBUG="on",
        DJANGO_TASKS_BACKEND="database",
        POLICY_NOTICE_BATCH_SIZE="250",
        EMAIL_URL=f"filemail://{mail}",
        DATABASE_URL=_database_url(),
        REDIS_URL=os.environ["REDIS_URL"],
    )
    with log.open("ab") as stream:
        return subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay",
             "--no-reload"],
            cwd=ROOT, env=env, stdout=stream, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _run_two_workers(mail: Path, logs: Path) -> None:
    """Two db_workers at once until no task is left, replacing one that ran out of work early.

    A batch worker exits as soon as it finds nothing ready, so the second one may leave while
    the first is still creating the notices; it is started again while tasks are waiting.
    """
    deadline = time.monotonic() + WORKER_SECONDS
    started = 0
    workers: list[subprocess.Popen] = []
    try:
        while time.monotonic() < deadline:
            for worker in workers:
                assert worker.poll() in (None, 0), (logs / "workers.log").read_text()[-3000:]
            workers = [worker for worker in workers if worker.returncode is None]
            waiting = DBTaskResult.objects.ready().exists()  # due now: not the later follow-up
            if not workers and not waiting:
                return
            while waiting and len(workers) < 2:
                workers.append(_db_worker(mail, logs / "workers.log"))
                started += 1
            time.sleep(0.1)
        raise AssertionError(f"workers still busy after {WORKER_SECONDS} s")
    finally:
        for worker in workers:
            _stop(worker)


def _recipients(mail: Path) -> Counter:
    """Every "To:" address in the mail folder (the file backend writes several per file)."""
    return Counter(
        address
        for path in mail.iterdir()
        for address in re.findall(r"^To: (.+)$", path.read_text(), flags=re.MULTILINE)
    )


def test_two_db_workers_share_one_fan_out_and_tell_each_user_exactly_once(
    privacy, settings, tmp_path
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    make_many_verified_users(USERS)
    # Publishing queues the fan-out; it runs nothing itself.
    version_publish(version=make_material_draft(privacy), by=None)
    assert [task.task_path for task in DBTaskResult.objects.all()] == [
        "policy.tasks.create_policy_notices"
    ]
    mail = tmp_path / "mail"
    mail.mkdir()

    _run_two_workers(mail, tmp_path)

    tasks = DBTaskResult.objects.all()
    # The fan-out and its deliveries ran; the follow-up for a worker that dies waits its time.
    assert Counter(task.status for task in tasks) == Counter(
        {"SUCCESSFUL": 1 + USERS // 250, "READY": 1}
    )
    assert tasks.get(status="READY").task.run_after > timezone.now()
    tasks = tasks.filter(status="SUCCESSFUL")
    recipients = _recipients(mail)
    assert len(recipients) == USERS
    assert set(recipients.values()) == {1}
    assert set(recipients) == {f"person{n}@example.com" for n in range(USERS)}
    assert Counter(Notice.objects.values_list("status", flat=True)) == {"sent": USERS}
    deliveries = tasks.filter(task_path="policy.tasks.deliver_policy_notices")
    assert sum(task.return_value["sent"] for task in deliveries) == USERS
    assert len({worker for task in deliveries for worker in task.worker_ids}) >= 2
