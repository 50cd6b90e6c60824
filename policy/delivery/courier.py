"""The courier: hands prepared messages to the mail server on threads of its own.

Most of the time a message spends with the mail server is waiting for its answers (MAIL, RCPT,
DATA, end of data). On threads of their own those waits overlap each other and the outbox
preparing the next messages (database and templates), instead of adding up. The courier touches
no database: what was claimed and what happened to it stay the outbox's to record.

Each thread has its own connection to the mail server, a fresh one every `per_connection`
messages (some servers limit a session) and after a failure. Messages are taken in the order
handed over; their outcomes come back as each is through.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    item: Any  # what was handed over with the message (the outbox's notice)
    error: BaseException | None = None  # None: the mail server accepted it
    sent: bool = True  # False: never handed to the mail server (the courier stopped first)

    @property
    def delivered(self) -> bool:
        return self.sent and self.error is None

    @property
    def fatal(self) -> bool:
        """Not a failure to send but the end of the process (SystemExit, KeyboardInterrupt):
        whether that message reached the server is unknown."""
        return self.error is not None and not isinstance(self.error, Exception)


class Courier:
    """Sends messages on one thread per connection (Django email backends) in `connections`."""

    def __init__(self, connections: list, *, per_connection: int = 100):
        self._per_connection = per_connection
        self._todo: queue.SimpleQueue = queue.SimpleQueue()
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(connection,), name="courier", daemon=True)
            for connection in connections
        ]
        for thread in self._threads:
            thread.start()

    def hand_over(self, item, message) -> None:
        """Queue `message` (an EmailMessage) for sending; its Outcome will carry `item`."""
        self._todo.put((item, message))

    def outcome(self) -> Outcome:
        """The outcome of the next message to be through (waits for one)."""
        return self._done.get()

    def stop(self, *, at_once: bool = False) -> None:
        """Send what is queued (or, `at_once`, nothing more than the messages in hand), then
        end the threads. Every message handed over still gets its Outcome."""
        if at_once:
            self._stopping.set()
        for _ in self._threads:
            self._todo.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self, connection) -> None:
        on_connection = 0
        try:
            while (queued := self._todo.get()) is not None:
                item, message = queued
                if self._stopping.is_set():
                    self._done.put(Outcome(item, sent=False))
                    continue
                if on_connection >= self._per_connection:
                    connection.close()
                    on_connection = 0
                try:
                    connection.open()  # a no-op while open; its errors are this message's
                    connection.send_messages([message])
                except Exception as error:  # noqa: BLE001 -- reported as this message's outcome
                    connection.close()
                    on_connection = 0
                    self._done.put(Outcome(item, error))
                except BaseException as death:
                    self._stopping.set()  # the process is ending: send nothing more
                    self._done.put(Outcome(item, death))
                else:
                    on_connection += 1
                    self._done.put(Outcome(item))
        finally:
            connection.close()
