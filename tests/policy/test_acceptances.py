"""Policy acceptances are an append-only ledger: readable in admin, never edited or deleted."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from policy.models import Acceptance, LedgerError
from policy.services.ledger import acceptance_record
from tests.factories import make_verified_user
from tests.tables import changelist_rows, readonly_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def acceptance(privacy):
    return acceptance_record(
        user=make_verified_user("alice"),
        version=privacy.versions.get(number=1),
        method="signup",
        ip_address="192.0.2.10",
        user_agent="Browser/1.0",
    )


def test_record_keeps_the_exact_text_fingerprint(acceptance):
    assert acceptance.version_sha256 == acceptance.version.sha256
    assert len(acceptance.version_sha256) == 64


def test_records_cannot_be_changed(acceptance):
    acceptance.method = "review"
    with pytest.raises(LedgerError):
        acceptance.save()
    acceptance.refresh_from_db()
    assert acceptance.method == "signup"


def test_records_cannot_be_deleted(acceptance):
    with pytest.raises(LedgerError):
        acceptance.delete()
    with pytest.raises(LedgerError):
        Acceptance.objects.all().delete()
    assert Acceptance.objects.count() == 1


def test_deleting_the_user_keeps_the_record(acceptance):
    acceptance.user.delete()
    acceptance.refresh_from_db()
    assert acceptance.user is None


def test_admin_lists_and_shows_records(admin_client, acceptance):
    changelist = admin_client.get(reverse("admin:policy_acceptance_changelist"))
    assert changelist.status_code == HTTPStatus.OK
    [row] = changelist_rows(changelist.content.decode())
    assert (row["user"], row["version"], row["method"], row["ip_address"]) == (
        "alice",
        "Privacy Policy v1",
        "at signup",
        "192.0.2.10",
    )
    detail = admin_client.get(reverse("admin:policy_acceptance_change", args=[acceptance.pk]))
    assert detail.status_code == HTTPStatus.OK
    shown = readonly_fields(detail.content.decode())
    assert shown["user"] == "alice"
    assert shown["version"] == "Privacy Policy v1"
    assert shown["version_sha256"] == acceptance.version.sha256
    assert shown["method"] == "at signup"
    assert shown["ip_address"] == "192.0.2.10"
    assert shown["user_agent"] == "Browser/1.0"
    assert 'name="method"' not in detail.content.decode()


def test_admin_cannot_add_edit_or_delete_records(admin_client, acceptance):
    assert admin_client.get(reverse("admin:policy_acceptance_add")).status_code == (
        HTTPStatus.FORBIDDEN
    )
    admin_client.post(
        reverse("admin:policy_acceptance_change", args=[acceptance.pk]),
        {"method": "review", "ip_address": "198.51.100.1"},
    )
    delete = admin_client.post(
        reverse("admin:policy_acceptance_delete", args=[acceptance.pk]), {"post": "yes"}
    )
    assert delete.status_code == HTTPStatus.FORBIDDEN
    admin_client.post(
        reverse("admin:policy_acceptance_changelist"),
        {"action": "delete_selected", "_selected_action": [acceptance.pk], "post": "yes"},
    )
    acceptance.refresh_from_db()
    assert acceptance.method == "signup"
    assert acceptance.ip_address == "192.0.2.10"
