"""The data migration loads the seed policy once, with its dates, and never overwrites it."""

import pytest
from django.apps import apps
from django.db import connection

from policy.models import PolicyVersion
from policy.rendering import content_hash
from tests.factories import SEED_SECTION_HEADINGS

pytestmark = pytest.mark.django_db


def load_seed_module():
    import importlib

    return importlib.import_module("policy.migrations.0002_seed_privacy_policy")


def test_seed_is_version_one_with_its_original_dates(privacy):
    version = privacy.versions.get(number=1)
    assert version.is_published
    assert version.published_at.date().isoformat() == "2006-10-23"
    assert version.effective_at.date().isoformat() == "2009-01-03"
    assert version.sha256 == content_hash(title=version.title, body=version.body)


def test_seed_keeps_its_six_sections_list_and_link(privacy):
    version = privacy.versions.get(number=1)
    assert [h["text"] for h in version.toc] == SEED_SECTION_HEADINGS
    assert "<li>Registration screens and online forms</li>" in version.body_html
    assert '<a href="http://www.export.gov/safeharbor/"' in version.body_html
    assert "Safe Harbor" in version.body_html
    assert "Date:" not in version.body  # dates come from the database, not the text


def test_running_the_seed_again_overwrites_nothing(privacy):
    # Make the stored policy differ from what the seed would write, so a rewrite would show.
    privacy.title = "Privacy Notice"
    privacy.save()
    before = list(PolicyVersion.objects.values())
    load_seed_module().load_seed(apps, connection.schema_editor())
    privacy.refresh_from_db()
    assert privacy.title == "Privacy Notice"
    assert list(PolicyVersion.objects.values()) == before
