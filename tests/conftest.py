"""Shared fixtures for the whole suite."""

import importlib

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings


@pytest.fixture(autouse=True, scope="session")
def _own_cache_folder(tmp_path_factory):
    """The suite's own cache folder, when the default cache is one (no REDIS_URL).

    That folder is shared by every process on the machine that uses the project's: a server or
    a benchmark running beside the suite must not clear the suite's entries, nor it theirs.
    """
    default = settings.CACHES["default"]
    if not default["BACKEND"].endswith("FileBasedCache"):
        yield
        return
    folder = str(tmp_path_factory.mktemp("cache"))
    with override_settings(CACHES={"default": {**default, "LOCATION": folder}}):
        yield


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters and cached lookups must not leak from one test into the next."""
    cache.clear()
    yield
    cache.clear()


# Argon2 is slow on purpose, and nearly every test makes or checks a password.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(request):
    """Hash passwords with MD5 in tests, except those marked `real_hashers`.

    Tests about hashing itself, and tests whose users sign in to a child process (which loads
    the project's own settings and could not check an MD5 hash), carry the marker.
    """
    if request.node.get_closest_marker("real_hashers") is None:
        request.getfixturevalue("settings").PASSWORD_HASHERS = FAST_HASHERS


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
