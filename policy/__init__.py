"""The policy app: versioned policy documents, the consent ledger, notices, and the inbox."""
