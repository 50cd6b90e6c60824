"""gunicorn settings for production, used by `make serve` too; environment variables tune them."""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: two per core keeps both cores busy while one worker waits on the database.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = max_requests // 10
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
# We do not use gunicornc; one shared control socket per user would collide across instances.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's own messages on standard output too, one line per event, like the site's logs
# (pamedspa/logs.py). The access log stays as GUNICORN_ACCESSLOG sets it.
logconfig_dict = {
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "line",
        }
    },
    "formatters": {
        "line": {
            "()": "pamedspa.logs.OneLineFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
}


def pre_fork(server, worker):
    """Freeze what the master loaded (the whole app: preload_app) before each worker is forked.

    A worker's full garbage collection then skips those 100,000 or so long-lived objects: it took
    66 ms before, under 5 ms after, and each one was a pause that every queued request waited
    out (the login page's p99 at 16 connections). Frozen objects are also never written by the
    collector, so the workers keep sharing the master's memory pages: the use Python's
    documentation gives gc.freeze(), for a fork without exec.
    """
    gc.collect()
    gc.freeze()
