"""Staff rights that fit the data: viewing a list never lets someone export or change it.

A staff member with "view" rights alone may read the consent ledger, the notices, the inbox and
the topics, but exporting the ledger needs "Can export consent records", exporting opted-in
addresses needs "Can export mailing lists", requeueing notices (which may send one twice) needs
"Can requeue notices", and marking contact messages needs "Can change contact message".
"""

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import PreferenceChange, Subscription, Topic
from accounts.services.people import preference_set
from policy.models import Acceptance, ContactMessage, Incident, Notice
from policy.services.ledger import acceptance_record
from tests.factories import make_user, make_verified_user

pytestmark = pytest.mark.django_db

VIEW = [
    "view_acceptance",
    "view_choice",
    "view_preferencechange",
    "view_topic",
    "view_notice",
    "view_contactmessage",
]


def staff_with(*codenames: str, name: str = "viewer"):
    user = make_user(name, staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def records(privacy):
    """An acceptance, a preference change, an opted-in topic, a failed notice and a message."""
    alice = make_verified_user("alice")
    acceptance_record(
        user=alice,
        version=privacy.versions.get(number=1),
        method="signup",
        ip_address="198.51.100.7",
        user_agent="Browser/1.0",
    )
    news = Topic.objects.create(name="News", slug="news", description="Monthly news.")
    preference_set(
        user=alice, topic=news, opted_in=True, method="preferences",
        ip_address="198.51.100.7", user_agent="Browser/1.0",
    )  # fmt: skip
    incident = Incident.objects.create(subject="A laptop was stolen", body="Change it.")
    failed = Notice.objects.create(incident=incident, user=alice, status=Notice.Status.FAILED)
    message = ContactMessage.objects.create(
        name="Vera", email="vera@example.org", subject="Cookies?", message="Which ones?"
    )
    return {"topic": news, "notice": failed, "message": message}


def act(client, changelist: str, action: str, pks: list[int]):
    return client.post(
        reverse(changelist), {"action": action, "_selected_action": pks}, follow=True
    )


def is_csv(response) -> bool:
    return response.headers.get("Content-Type", "").startswith("text/csv")


EXPORTS = [
    ("admin:policy_acceptance_changelist", Acceptance, "policy"),
    ("admin:accounts_preferencechange_changelist", PreferenceChange, "accounts"),
]


@pytest.mark.parametrize(("changelist", "model", "app"), EXPORTS)
def test_viewing_the_ledger_does_not_let_staff_export_it(client, records, changelist, model, app):
    client.force_login(staff_with(*VIEW))
    page = client.get(reverse(changelist))
    assert page.status_code == HTTPStatus.OK
    assert "alice" in page.content.decode()  # they can read it
    assert 'value="export_csv"' not in page.content.decode()

    response = act(
        client, changelist, "export_csv", list(model.objects.values_list("pk", flat=True))
    )

    assert not is_csv(response)
    assert "to view |" in response.content.decode()  # the read-only list again, no file


@pytest.mark.parametrize(("changelist", "model", "app"), EXPORTS)
def test_exporting_the_ledger_needs_its_own_permission(client, records, changelist, model, app):
    client.force_login(staff_with(*VIEW, "export_consent_records"))
    assert 'value="export_csv"' in client.get(reverse(changelist)).content.decode()
    response = act(
        client, changelist, "export_csv", list(model.objects.values_list("pk", flat=True))
    )
    assert is_csv(response)
    assert "198.51.100.7" in b"".join(response.streaming_content).decode()


def test_exporting_opted_in_addresses_needs_its_own_permission(client, records):
    changelist = "admin:accounts_topic_changelist"
    topic = records["topic"]
    client.force_login(staff_with(*VIEW))
    assert 'value="export_opted_in"' not in client.get(reverse(changelist)).content.decode()
    response = act(client, changelist, "export_opted_in", [topic.pk])
    assert not is_csv(response)
    assert "to view |" in response.content.decode()  # the read-only list again, no file

    client.force_login(staff_with(*VIEW, "export_mailing_list", name="granted"))
    response = act(client, changelist, "export_opted_in", [topic.pk])
    assert is_csv(response)
    assert "alice@example.com" in b"".join(response.streaming_content).decode()
    assert Subscription.objects.get(topic=topic).opted_in  # an export changes nothing


def test_requeueing_notices_needs_its_own_permission(client, records):
    notice = records["notice"]
    changelist = "admin:policy_notice_changelist"
    client.force_login(staff_with(*VIEW))
    assert 'value="requeue"' not in client.get(reverse(changelist)).content.decode()
    act(client, changelist, "requeue", [notice.pk])
    notice.refresh_from_db()
    assert notice.status == Notice.Status.FAILED

    client.force_login(staff_with(*VIEW, "requeue_notice", name="granted"))
    response = act(client, changelist, "requeue", [notice.pk])
    notice.refresh_from_db()
    assert notice.status == Notice.Status.PENDING
    assert "1 failed notice will be sent again." in response.content.decode()


@pytest.mark.parametrize(
    ("action", "status"), [("mark_answered", "answered"), ("mark_closed", "closed")]
)
def test_marking_contact_messages_needs_the_change_permission(client, records, action, status):
    message = records["message"]
    changelist = "admin:policy_contactmessage_changelist"
    client.force_login(staff_with(*VIEW))
    assert f'value="{action}"' not in client.get(reverse(changelist)).content.decode()
    act(client, changelist, action, [message.pk])
    message.refresh_from_db()
    assert message.status == ContactMessage.Status.NEW

    client.force_login(staff_with(*VIEW, "change_contactmessage", name="granted"))
    response = act(client, changelist, action, [message.pk])
    message.refresh_from_db()
    assert message.status == status
    assert f"Marked 1 message as {status}." in response.content.decode()
