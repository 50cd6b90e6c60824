"""A Redis outage, on a private Redis this test starts and stops (never the machine's).

gunicorn (2 workers, debug off) runs over a SQLite file of its own and that Redis. While Redis
is down, every page still answers: policy pages, the login page, 404s, signed-in pages, a new
login; rate limits count in each worker; /healthz/ says "degraded" with 200; the log says so
once per worker. When Redis comes back, the site uses it again with no restart.
"""

import json
import shutil
import time

import pytest

from tests.integration.sites import OwnRedis, gunicorn_site
from tests.integration.test_scale_out import Browser, Instance

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")

WORKERS = 2
KEY_LIMIT = 5  # login_failed: 5 per account in 300 s (settings.ACCOUNT_RATE_LIMITS)
RETRY_SECONDS = 5  # FailoverRedisCache's default: how long a worker answers from memory


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("redis-outage")
    redis = OwnRedis()
    redis.start()
    try:
        with gunicorn_site(
            folder, REDIS_URL=f"redis://127.0.0.1:{redis.port}/0", WEB_CONCURRENCY=str(WORKERS)
        ) as (instance, _):
            yield instance, redis
    finally:
        redis.stop()


def _health(instance: Instance) -> tuple[int, dict]:
    page = Browser(instance.base).get("/healthz/")
    return page.status, json.loads(page.text)


def test_a_redis_outage_degrades_the_site_and_it_recovers_by_itself(site):
    instance, redis = site
    signed_in = Browser(instance.base)
    assert "Signed in as <strong>alice</strong>" in signed_in.log_in("alice").text
    assert _health(instance) == (200, {**_health(instance)[1], "status": "ok", "cache": "ok"})

    redis.stop()
    visitor = Browser(instance.base)
    for path in ["/", "/privacy/", "/privacy/versions/", "/accounts/login/"]:
        page = visitor.get(path)
        assert page.status == 200, (path, page.text[-1000:])
    assert visitor.get("/privacy/").text.count("Privacy") > 1  # the policy, not an error page
    assert visitor.get("/no-such-page/").status == 404

    # The session made before the outage is read from the database; a new login works.
    page = signed_in.get("/accounts/")
    assert (page.status, page.url) == (200, instance.base + "/accounts/")
    assert "Signed in as <strong>alice</strong>" in page.text
    newcomer = Browser(instance.base)
    assert "Signed in as <strong>alice</strong>" in newcomer.log_in("alice").text

    status, body = _health(instance)
    assert (status, body["status"], body["cache"], body["database"]) == (
        200, "degraded", "unavailable", "ok",
    )  # fmt: skip

    # Each worker counts wrong passwords on its own: at most WORKERS x the limit get checked.
    attempts = WORKERS * KEY_LIMIT + 2
    refused = 0
    for _ in range(attempts):
        page = Browser(instance.base).log_in("alice", "not the password")
        assert page.status in {200, 429}
        assert "Signed in as" not in page.text
        refused += page.status == 429 or "Too many" in page.text
    assert refused >= attempts - WORKERS * KEY_LIMIT

    log = instance.log.read_text(errors="replace")
    assert 1 <= log.count("cache unavailable") <= WORKERS, instance.log_tail()
    assert "Internal Server Error" not in log

    redis.start()  # empty: what it held is gone, as after a restart
    back = time.monotonic()
    deadline = back + 15
    while _health(instance)[1]["status"] != "ok" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _health(instance) == (200, {**_health(instance)[1], "status": "ok", "cache": "ok"})
    # Sessions live in the database too: the person is still signed in, and limits are shared
    # again (a fresh Redis holds no count, so a right password works).
    assert "Signed in as <strong>alice</strong>" in signed_in.get("/accounts/").text
    # /healthz/ recovered the worker that answered it; the other asks Redis again once its retry
    # interval is over. From then on every worker counts in Redis, which holds no count.
    time.sleep(max(0.0, back + RETRY_SECONDS + 0.5 - time.monotonic()))
    for _ in range(2 * WORKERS):
        assert "Signed in as <strong>alice</strong>" in Browser(instance.base).log_in("alice").text
