"""Shared fixtures for the whole suite."""

import importlib

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
    """The privacy policy document, with its seed version 1 from the data migration.

    Transactional tests flush the database afterwards, seed included, so the migration's own
    loader puts it back when it is missing (it never touches an existing policy).
    """
    from django.apps import apps

    from policy.models import Document

    importlib.import_module("policy.migrations.0002_seed_privacy_policy").load_seed(apps, None)
    return Document.objects.get(slug="privacy")
