"""The lists staff may write to, provided by the apps that own them.

The policy app sends mail to a list without knowing what the list is: the accounts app, which
owns the topics people choose, registers them here (in its AppConfig.ready). A list says who
is on it now, whether one person still is at the moment of sending, and what each of their
messages must carry (why they get it, and a one-click way to stop).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import QuerySet


@dataclass(frozen=True)
class Extras:
    """What one person's copy carries besides the text: why they get it, how to stop, headers."""

    reason: str = ""
    stop_url: str = ""
    stop_text: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MailingList:
    key: str
    name: str
    members: Callable[[], QuerySet]  # the users on the list now
    has: Callable[[object], bool]  # whether one user still is
    extras: Callable[[object], Extras]  # what their copy carries


@dataclass(frozen=True)
class _Provider:
    find: Callable[[str], MailingList | None]  # by the part of the key after "prefix:"
    every: Callable[[], Iterable[MailingList]]


_providers: dict[str, _Provider] = {}


def register(
    prefix: str,
    *,
    find: Callable[[str], MailingList | None],
    every: Callable[[], Iterable[MailingList]],
) -> None:
    """Make the lists whose keys start with "`prefix`:" available (idempotent)."""
    _providers[prefix] = _Provider(find, every)


def mailing_list(key: str) -> MailingList | None:
    """The list `key` names, or None if it does not exist (any more)."""
    prefix, _, rest = key.partition(":")
    provider = _providers.get(prefix)
    return provider.find(rest) if provider else None


def every_list() -> list[MailingList]:
    """Every list staff may write to now."""
    return [found for provider in _providers.values() for found in provider.every()]
