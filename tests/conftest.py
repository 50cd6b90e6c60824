"""Shared fixtures for the whole suite."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters and cached lookups must not leak from one test into the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def privacy(db):
    """The privacy policy document, with its seed version 1 from the data migration."""
    from policy.models import Document

    return Document.objects.get(slug="privacy")
