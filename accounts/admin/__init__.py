"""Admin for people, preference topics and their ledger, erasures and privacy requests."""

from . import people, requests  # noqa: F401  (registers the models)
