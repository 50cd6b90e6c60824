"""What staff confirm before a notice goes to many people, bound so that nothing else is sent.

An `Audience` is the criteria staff chose (as a digest), the exact number of recipients, and
a digest of who they are. The confirmation page carries it signed; sending recounts and
compares, so a send whose audience differs from what was shown (other criteria, someone who
joined or left meanwhile) asks again instead of going out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core import signing
from django.db.models import QuerySet

# A confirmation older than this is counted again: it shows what was true when it was made.
CONFIRMATION_SECONDS = 60 * 60


class AudienceChanged(Exception):
    """The recipients are not the ones that were confirmed; `now` is who they are now."""

    def __init__(self, now: Audience):
        super().__init__("The recipients changed since they were counted.")
        self.now = now


@dataclass(frozen=True)
class Audience:
    criteria: str  # a digest of how the recipients were chosen
    count: int
    recipients: str  # a digest of the recipients' ids

    @classmethod
    def of(cls, criteria: str, recipients: QuerySet) -> Audience:
        digest = hashlib.sha256()
        count = 0
        for pk in recipients.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=5000):
            digest.update(f"{pk},".encode())
            count += 1
        return cls(_digest(criteria), count, digest.hexdigest())

    def sign(self, *, salt: str) -> str:
        return signing.dumps([self.criteria, self.count, self.recipients], salt=salt)

    @classmethod
    def confirmed(cls, token: str, *, salt: str) -> Audience | None:
        """The audience a confirmation page showed, or None if the token is forged or stale."""
        try:
            criteria, count, recipients = signing.loads(
                token, salt=salt, max_age=CONFIRMATION_SECONDS
            )
            return cls(str(criteria), int(count), str(recipients))
        except (signing.BadSignature, TypeError, ValueError):
            return None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
