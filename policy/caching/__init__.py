"""Caching for policy pages, in two parts.

- snapshots: each document's state and current version, shared between processes through a
  small token in the cache and dropped when a publish commits;
- pages: the pages anonymous visitors share, kept rendered and compressed by each process.
"""

from .pages import pages, shared_when_anonymous
from .snapshots import (
    DocumentState,
    Snapshot,
    SnapshotStore,
    Token,
    current_version,
    document_forget,
    snapshot_for,
    snapshots,
)

__all__ = [
    "DocumentState",
    "Snapshot",
    "SnapshotStore",
    "Token",
    "current_version",
    "document_forget",
    "pages",
    "shared_when_anonymous",
    "snapshot_for",
    "snapshots",
]
