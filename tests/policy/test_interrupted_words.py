"""The words that mark an interrupted notice are how the notice list finds it, so notices
stored with older words are brought up to date by a migration."""

import importlib

import pytest
from django.apps import apps

from policy.models import INTERRUPTED, Notice
from tests.factories import make_verified_user

pytestmark = pytest.mark.django_db

migration = importlib.import_module("policy.migrations.0019_interrupted_in_plain_words")


def test_the_newest_migration_of_the_words_writes_todays_words():
    assert migration.NEW == INTERRUPTED  # changing the words needs a migration of its own


def test_notices_with_the_old_words_are_found_as_interrupted_after_the_migration(privacy):
    old = Notice.objects.create(
        version=privacy.versions.get(),
        user=make_verified_user("alice"),
        status=Notice.Status.FAILED,
        last_error=migration.OLD,
    )
    assert not Notice.objects.interrupted().exists()
    migration.forwards(apps, None)
    assert list(Notice.objects.interrupted()) == [old]
    migration.backwards(apps, None)
    old.refresh_from_db()
    assert old.last_error == migration.OLD
