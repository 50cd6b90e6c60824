"""The policy app's records, one module per concern.

- documents: policy documents and their numbered versions (`PRIVACY` names the privacy policy);
- ledger: the append-only consent ledger (acceptances and choices);
- notices: emailed notices (of a material policy change or of a breach) and breach incidents;
- inbox: messages sent to the privacy team through the contact form.
"""

from .documents import PRIVACY, Document, NewUse, PolicyVersion, PublishedVersionError
from .inbox import ContactMessage
from .ledger import Acceptance, Choice, LedgerError, LedgerQuerySet, LedgerRecord
from .notices import INTERRUPTED, LEASE, Incident, Mailing, Notice, NoticeFanout, current_address

__all__ = [
    "INTERRUPTED",
    "LEASE",
    "PRIVACY",
    "Acceptance",
    "Choice",
    "ContactMessage",
    "Document",
    "Incident",
    "LedgerError",
    "LedgerQuerySet",
    "LedgerRecord",
    "Mailing",
    "NewUse",
    "Notice",
    "NoticeFanout",
    "PolicyVersion",
    "PublishedVersionError",
    "current_address",
]
