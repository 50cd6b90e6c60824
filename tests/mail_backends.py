"""Mail backends for fault tests: one that fails, one that dies mid-send, one that is slow."""

import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class FlakyBackend(LocmemBackend):
    """Refuses messages to `failing` addresses, `failures_left` times in all, with `error`."""

    failing: set[str] = set()
    failures_left = 0
    error: Exception | None = None  # default: the connection is refused

    def send_messages(self, messages):
        for message in messages:
            if set(message.to) & self.failing and FlakyBackend.failures_left > 0:
                FlakyBackend.failures_left -= 1
                raise self.error or ConnectionRefusedError("mail server refused the connection")
        return super().send_messages(messages)


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so no `except Exception` can catch it."""


class DyingBackend(LocmemBackend):
    """Delivers `deliveries_left` messages, then dies before handing over the next one."""

    deliveries_left = 0

    def send_messages(self, messages):
        if DyingBackend.deliveries_left <= 0:
            raise WorkerKilled
        DyingBackend.deliveries_left -= 1
        return super().send_messages(messages)


class SlowFileBackend(BaseEmailBackend):
    """Writes each message to its own file in TEST_MAIL_DIR, slowly, like a distant server."""

    def send_messages(self, messages):
        folder = Path(settings.TEST_MAIL_DIR)
        for message in messages:
            time.sleep(getattr(settings, "TEST_MAIL_DELAY", 0.0))
            path = folder / f"{message.to[0]}--{uuid.uuid4().hex}.eml"
            path.write_bytes(message.message().as_bytes())
        return len(messages)
