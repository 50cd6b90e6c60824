"""HTTP validators for policy pages: an ETag that changes whenever the page could."""

import hashlib
from functools import cache
from pathlib import Path

from django.conf import settings

from .models import PolicyVersion

_SOURCE_DIRS = ("templates", "policy", "accounts", "pamedspa", "static")


@cache
def release_id() -> str:
    """A digest of the code, templates and static files this process serves.

    Part of every ETag, so a deploy that changes the page's markup invalidates browsers'
    copies even when the policy text is unchanged. Computed once per process.
    """
    digest = hashlib.sha256()
    for folder in _SOURCE_DIRS:
        root = Path(settings.BASE_DIR) / folder
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in {".py", ".html", ".txt", ".css", ".js", ".svg"}:
                digest.update(str(path.relative_to(settings.BASE_DIR)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def version_etag(version: PolicyVersion, *parts: str) -> str:
    """A strong ETag for a page that shows `version`, plus anything else it depends on."""
    key = "|".join([version.sha256, str(version.pk), str(version.number), release_id(), *parts])
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
