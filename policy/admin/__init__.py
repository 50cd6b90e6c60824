"""The policy app's admin, one module per concern; importing them registers their models.

- documents: policy documents and versions (publishing and new drafts link to staff views);
- ledger: the read-only consent ledger, and `LedgerAdmin`, the base of every ledger admin;
- notices: notices of changes and breaches, and breach incidents;
- mailings: topic mail, written, previewed and sent once;
- inbox: contact messages.
"""

from . import documents, inbox, ledger, mailings, notices

__all__ = ["documents", "inbox", "ledger", "mailings", "notices"]
