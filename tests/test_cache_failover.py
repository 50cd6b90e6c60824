"""The Redis cache's failover, on a private Redis this test starts behind a proxy it can cut.

Cutting the proxy loses Redis the way a network fault or a dead server does, while Redis
itself keeps what it held: so the test can tell whether stale copies are dropped on recovery.
"""

import logging
import shutil
import socket
import time

import pytest

from pamedspa.cache import FailoverRedisCache
from policy.caching import SnapshotStore
from tests.integration.sites import OwnRedis
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")

RETRY = 0.5


@pytest.fixture(scope="module")
def redis_port():
    redis = OwnRedis()
    redis.start()
    yield redis.port
    redis.stop()


@pytest.fixture
def proxy(redis_port):
    proxy = TcpProxy(("127.0.0.1", redis_port))
    proxy.start()
    yield proxy
    proxy.cut()


def _cache(port: int, **params) -> FailoverRedisCache:
    return FailoverRedisCache(
        f"redis://127.0.0.1:{port}/0",
        {
            "KEY_PREFIX": "t",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            "RETRY_SECONDS": RETRY,
            **params,
        },
    )


def _wait_for_retry() -> None:
    time.sleep(RETRY + 0.1)


def test_reads_and_writes_keep_answering_while_redis_is_away(proxy):
    cache = _cache(proxy.port)
    cache.set("kept", "in redis")
    proxy.cut()
    assert cache.get("kept") is None  # a miss, not an error: the caller loads it again
    cache.set("counter", [1, 2])
    assert cache.get("counter") == [1, 2]
    assert cache.add("counter", "no") is False
    assert cache.add("n", 1) is True
    assert cache.incr("n") == 2
    assert cache.degraded
    assert cache.ping() is False


def test_the_log_says_so_once_per_outage_not_once_per_request(proxy, caplog):
    cache = _cache(proxy.port)
    proxy.cut()
    with caplog.at_level(logging.WARNING, logger="pamedspa.cache"):
        for _ in range(50):
            cache.get("anything")
        _wait_for_retry()
        cache.get("anything")  # asks Redis again, fails again: still the same outage
        proxy.start()
        _wait_for_retry()
        for _ in range(5):
            cache.get("anything")
    messages = [record.getMessage() for record in caplog.records]
    assert sum("cache unavailable" in m for m in messages) == 1, messages
    assert "rate limits count per process" in messages[0]
    assert sum("cache available again" in m for m in messages) == 1, messages
    assert not cache.degraded


def test_redis_is_used_again_by_itself_when_it_comes_back(proxy):
    cache = _cache(proxy.port)
    proxy.cut()
    cache.set("during", "memory")
    proxy.start()
    _wait_for_retry()
    cache.set("after", "redis")
    other_process = _cache(proxy.port, RETRY_SECONDS=RETRY)
    other_process._local.clear()
    assert other_process.get("after") == "redis"


def test_what_was_written_while_away_is_not_read_back_stale_from_redis(proxy):
    """A logout during the outage must not come undone when Redis returns with the session."""
    cache = _cache(proxy.port)
    cache.set("session", "signed in")
    cache.set("token", "version 1")
    proxy.cut()
    cache.delete("session")
    cache.set("token", "version 2")
    proxy.start()
    _wait_for_retry()
    assert cache.get("session") is None
    assert cache.get("token") is None  # dropped from Redis: the caller reloads version 2
    assert cache.ping()


def test_a_redis_that_hangs_costs_one_timeout_per_retry_interval():
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        cache = _cache(silent.getsockname()[1], RETRY_SECONDS=60)
        started = time.monotonic()
        for _ in range(20):
            assert cache.get("key") is None
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 3  # one 1 s timeout, not twenty


class _DegradedCache:
    degraded = True

    def __init__(self):
        self.timeouts = []

    def get(self, key):
        return None

    def set(self, key, value, timeout):
        self.timeouts.append(timeout)


@pytest.mark.django_db
def test_policy_tokens_live_seconds_only_while_the_cache_stands_in_for_redis(privacy, settings):
    """Another process's publish cannot drop a token kept in this process's memory."""
    settings.POLICY_CACHE_SECONDS = 300
    cache = _DegradedCache()
    SnapshotStore(cache).get("privacy")
    assert cache.timeouts == [5]
    cache.degraded = False
    SnapshotStore(cache).get("privacy")
    assert cache.timeouts == [5, 300]
