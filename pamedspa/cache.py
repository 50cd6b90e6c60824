"""The shared cache's failover: when Redis does not answer, the site keeps working from memory.

Django's RedisCache raises on a lost connection, so a Redis outage would answer 500 on every
page that reads the cache (all of them). `FailoverRedisCache` answers from a cache in this
process's memory instead, and asks Redis again every few seconds:

- policy pages are served from the database and each process's copy;
- sessions (`cached_db`) are read from the database;
- rate limits count in each process, which is weaker but still a limit; the log says so once.

What a process writes or deletes while Redis is away is older in Redis than in the database
(a logout, a publish), so those keys are deleted from Redis when it answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
# Keys written while Redis was away, remembered to be deleted there once it is back. Past this
# many, the oldest are forgotten; their copies in Redis expire on their own.
STALE_KEYS_MAX = 10_000


@dataclass
class Outage:
    """One process's view of a Redis server: since when it has been away, if it is."""

    retry_seconds: float
    since: float | None = None  # time.monotonic() of the first failure
    retry_at: float = 0.0  # when to ask Redis again
    stale: dict[str, None] = field(default_factory=dict)  # keys written meanwhile, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def lost(self, error: Exception) -> None:
        with self.lock:
            self.retry_at = time.monotonic() + self.retry_seconds
            if self.since is not None:
                return
            self.since = time.monotonic()
        logger.error(
            "cache unavailable (%s: %s); answering from this process's memory, so rate limits "
            "count per process until it is back; asking again every %s s",
            type(error).__name__,
            error,
            self.retry_seconds,
        )

    def written(self, keys) -> None:
        with self.lock:
            for key in keys:
                self.stale.pop(key, None)
                self.stale[key] = None
            while len(self.stale) > STALE_KEYS_MAX:
                del self.stale[next(iter(self.stale))]


# One per server address, shared by the cache objects of every thread of this process.
_outages: dict[str, Outage] = {}


def _failover(name: str, *, keys=None):
    """RedisCacheClient's method `name`, answered from memory while Redis is away.

    `keys(args)` names the keys a write touches, whose Redis copies go stale meanwhile.
    """
    through_redis = getattr(RedisCacheClient, name)

    def method(self: FailoverClient, *args):
        outage = self.outage
        if outage.since is None or time.monotonic() >= outage.retry_at:
            try:
                if outage.since is not None:
                    self.recover()  # before anything is read back from Redis
                return through_redis(self, *args)
            except UNREACHABLE as error:
                outage.lost(error)
        if keys is not None:
            outage.written(keys(args))
        return getattr(self.local, name)(*args)

    method.__name__ = name
    return method


def _first(args: tuple) -> list:
    return [args[0]]


def _all_of_first(args: tuple) -> list:
    return list(args[0])


class FailoverClient(RedisCacheClient):
    """Django's Redis client, with this process's memory standing in while Redis is away.

    It works on keys already made (prefix and version added), so its memory stand-in takes
    them as they are.
    """

    def __init__(self, servers, *, outage: Outage, local: LocMemCache, **options):
        super().__init__(servers, **options)
        self.outage = outage
        self.local = local
        self._clients: dict[object, object] = {}

    def get_client(self, key=None, *, write=False):
        """A client of the server's connection pool, made once rather than for every command.

        Django makes a new redis-py client per command, which costs as much as the round trip
        to the server; a redis-py client is safe to share, as its pool is.
        """
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client

    def ping(self) -> bool:
        """Ask Redis now, whatever the retry interval says: whether it answers."""
        try:
            if self.outage.since is None:
                self.get_client().ping()
            else:
                self.recover()
        except UNREACHABLE as error:
            self.outage.lost(error)
            return False
        return True

    def recover(self) -> None:
        """Delete from Redis what was written meanwhile, then use it again.

        Raises what Redis raises if it still does not answer.
        """
        outage = self.outage
        with outage.lock:
            if outage.since is None:
                return
            away = time.monotonic() - outage.since
            stale = list(outage.stale)
        self.get_client(write=True).ping()
        for start in range(0, len(stale), 500):
            super().delete_many(stale[start : start + 500])
        with outage.lock:
            outage.since, outage.retry_at, outage.stale = None, 0.0, {}
        self.local.clear()
        logger.warning(
            "cache available again after %.0f s; %d keys written meanwhile dropped from it",
            away,
            len(stale),
        )

    add = _failover("add", keys=_first)
    get = _failover("get")
    set = _failover("set", keys=_first)
    touch = _failover("touch", keys=_first)
    delete = _failover("delete", keys=_first)
    get_many = _failover("get_many")
    has_key = _failover("has_key")
    incr = _failover("incr", keys=_first)
    set_many = _failover("set_many", keys=_all_of_first)
    delete_many = _failover("delete_many", keys=_all_of_first)
    clear = _failover("clear")


def _made(key, key_prefix, version):
    """The stand-in's key function: keys reach it already made."""
    return key


class FailoverRedisCache(RedisCache):
    """Django's RedisCache that degrades to a per-process memory cache while Redis is away.

    Extra setting: RETRY_SECONDS (default 5), how long to answer from memory before asking
    Redis again; so a Redis that hangs costs its socket timeout at most once per interval.
    """

    def __init__(self, server, params):
        super().__init__(server, params)
        location = server if isinstance(server, str) else ",".join(server)
        self._outage = _outages.setdefault(location, Outage(params.get("RETRY_SECONDS", 5)))
        self._local = LocMemCache(
            f"failover:{location}",
            {"TIMEOUT": None, "KEY_FUNCTION": _made, "OPTIONS": {"MAX_ENTRIES": 10_000}},
        )

    @cached_property
    def _cache(self) -> FailoverClient:
        return FailoverClient(
            self._servers, outage=self._outage, local=self._local, **self._options
        )

    @property
    def degraded(self) -> bool:
        """Whether this process answers from memory, where the other processes cannot see."""
        return self._outage.since is not None

    def ping(self) -> bool:
        """Whether Redis answers now (and if it does after an outage, use it again)."""
        return self._cache.ping()
