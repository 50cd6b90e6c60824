"""Logging for operators: one line per event on stdout, and errors mailed without a flood."""

import hashlib
import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)


class OneLineFormatter(logging.Formatter):
    """Each record on one line, its traceback included, so one event is one line in the journal.

    Line breaks inside a message or a traceback become a visible " | ", which log search and
    `journalctl -g` can still match against. Times are UTC, marked so.
    """

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def format(self, record: logging.LogRecord) -> str:
        return " | ".join(line for line in super().format(record).splitlines() if line.strip())


class RateLimitFilter(logging.Filter):
    """Let one record of each kind through every `seconds`, counted across all processes.

    A kind is the logger, the message's template and, for an exception, its type and the
    line that raised it: a bug mails once per interval however many requests hit it, and a
    second bug still mails at once. Counted in the shared cache, and in this process too for
    when the cache cannot answer.
    """

    def __init__(self, seconds: int = 300):
        super().__init__()
        self.seconds = seconds
        self._passed: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        kind = self.kind(record)
        now = time.monotonic()
        if now - self._passed.get(kind, -self.seconds) < self.seconds:
            return False
        self._passed[kind] = now
        try:
            return cache.add(f"logs:mailed:{kind}", 1, self.seconds)
        except Exception:  # the cache is what failed: let the news through
            return True

    @staticmethod
    def kind(record: logging.LogRecord) -> str:
        parts = [record.name, str(record.msg)]
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            traceback = error.__traceback__
            while traceback is not None and traceback.tb_next is not None:
                traceback = traceback.tb_next
            parts.append(type(error).__qualname__)
            if traceback is not None:
                parts.append(f"{traceback.tb_frame.f_code.co_filename}:{traceback.tb_lineno}")
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def sentry_before_send(event: dict, hint: dict) -> dict:
    """What goes to Sentry: the error, its stack and the route, never a person's data.

    The request's address can hold a token (reset, verification and download links), its
    headers an address or a cookie; the route (Sentry's transaction, e.g.
    "/privacy/request/verify/{token}/") says where the error happened without them.
    """
    request = event.get("request")
    if request is not None:
        event["request"] = {"method": request.get("method")}
    event.pop("user", None)
    # Spans and breadcrumbs describe cache and database calls with their keys (a session's
    # key is its cookie) and their queries.
    event.pop("spans", None)
    event.pop("breadcrumbs", None)
    trace = event.get("contexts", {}).get("trace")
    if trace is not None:
        trace.pop("description", None)
        trace.pop("data", None)
    return event
