"""Erasing a person, on every path staff have: one erasure, the one self-service deletion uses.

Personal data is deleted; the consent ledger and the notices are kept under one random subject
id, without IP address, browser or email address; the erasure itself is logged. The person here
has acceptances, choices, preferences, notices, contact messages and two email addresses.
"""

from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import Erasure, PreferenceChange, Subscription, Topic
from accounts.services.people import account_erase, preference_set
from policy.models import Acceptance, Choice, ContactMessage, Incident, NewUse, Notice
from policy.services.ledger import acceptance_record, review_submit
from policy.services.versions import version_publish
from tests.factories import login, make_draft, make_user, make_verified_user, reauthenticate

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:auth_user_changelist")
IP = "198.51.100.7"


def delete_url(user) -> str:
    return reverse("admin:auth_user_delete", args=[user.pk])


@pytest.fixture
def dora(privacy):
    """A person with a record of every kind, two addresses, and a message sent signed out."""
    dora = make_verified_user("dora")
    EmailAddress.objects.create(user=dora, email="dora@work.example", verified=True)
    v1 = privacy.versions.get(number=1)
    draft = make_draft(privacy, summary="Adds partner offers.")
    use = NewUse.objects.create(version=draft, name="Partner offers", description="Share it.")
    v2 = version_publish(version=draft, by=None)
    acceptance_record(user=dora, version=v1, method="signup", ip_address=IP, user_agent="Ua/1")
    review_submit(
        user=dora, version=v2, answers={use: True}, method="review", ip_address=IP,
        user_agent="Ua/1",
    )  # fmt: skip
    news = Topic.objects.create(name="News", slug="news", description="Monthly news.")
    preference_set(
        user=dora, topic=news, opted_in=True, method="preferences", ip_address=IP,
        user_agent="Ua/1",
    )  # fmt: skip
    Notice.objects.create(
        version=v2, user=dora, status=Notice.Status.SENT, email="dora@example.com",
        sent_at=timezone.now(),
    )  # fmt: skip
    incident = Incident.objects.create(subject="A laptop was stolen", body="Change it.")
    Notice.objects.create(incident=incident, user=dora, last_error="451 dora@example.com busy")
    ContactMessage.objects.create(
        user=dora, name="Dora", email="dora@example.com", subject="Signed in", message="Hi."
    )
    ContactMessage.objects.create(
        name="Dora", email="DORA@work.example", subject="Signed out", message="Hello."
    )
    return dora


@pytest.fixture
def bystander(privacy):
    """Someone else, whose records must not change."""
    bob = make_verified_user("bob")
    acceptance_record(
        user=bob, version=privacy.versions.get(number=1), method="signup", ip_address="203.0.113.9",
        user_agent="Bob/1",
    )  # fmt: skip
    ContactMessage.objects.create(
        user=bob, name="Bob", email="bob@example.com", subject="Bob's", message="Hi."
    )
    return bob


def assert_erased(user_pk: int, *, by) -> Erasure:
    """Everything personal gone, the evidence kept under one subject id, the erasure logged."""
    assert not get_user_model().objects.filter(pk=user_pk).exists()
    assert not EmailAddress.objects.filter(user_id=user_pk).exists()
    assert not EmailAddress.objects.filter(email__icontains="dora").exists()
    assert not Subscription.objects.filter(user_id=user_pk).exists()
    assert not ContactMessage.objects.filter(name="Dora").exists()  # both of her messages
    erasure = Erasure.objects.get()
    assert (erasure.erased_by, erasure.method) == (by, "self" if by is None else "staff")
    for model, count in ((Acceptance, 2), (Choice, 1), (PreferenceChange, 1)):
        kept = model.objects.filter(subject_id=erasure.subject_id)
        assert kept.count() == count, model
        assert set(kept.values_list("user", "ip_address", "user_agent")) == {(None, None, "")}
    notices = Notice.objects.filter(subject_id=erasure.subject_id)
    assert notices.count() == 2
    assert set(notices.values_list("user", "email", "last_error")) == {(None, "", "")}
    assert set(notices.values_list("status", flat=True)) == {"sent", "cancelled"}
    return erasure


def test_the_erase_action_says_what_goes_and_what_stays_then_erases(
    admin_client, admin_user, dora, bystander
):
    page = admin_client.post(
        CHANGELIST, {"action": "erase", "_selected_action": [dora.pk]}
    ).content.decode()

    assert "Erase personal data?" in page
    for line in (
        "2 email addresses",
        "1 topic preference",
        "2 messages sent to the privacy team",
        "2 policy acceptances, 1 choice about new uses and 1 preference change",
        "2 notices we emailed",
        "The erasure log will record when, that you did it, and the random id.",
    ):
        assert line in page, line
    assert get_user_model().objects.filter(pk=dora.pk).exists()  # nothing happens before yes

    response = admin_client.post(
        CHANGELIST,
        {"action": "erase", "_selected_action": [dora.pk], "confirm": "yes"},
        follow=True,
    )

    assert "Erased the personal data of 1 person (dora)." in response.content.decode()
    assert_erased(dora.pk, by=admin_user)
    assert Acceptance.objects.filter(user=bystander, ip_address="203.0.113.9").count() == 1
    assert ContactMessage.objects.filter(user=bystander).count() == 1


def test_the_delete_page_erases_too(admin_client, admin_user, dora):
    page = admin_client.get(delete_url(dora)).content.decode()
    assert "Erase personal data?" in page and "2 notices we emailed" in page

    response = admin_client.post(delete_url(dora), {"confirm": "yes"})

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == CHANGELIST
    assert_erased(dora.pk, by=admin_user)


def test_a_plain_delete_is_not_offered(admin_client, dora):
    page = admin_client.get(CHANGELIST).content.decode()
    assert 'value="erase"' in page
    assert 'value="delete_selected"' not in page
    admin_client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [dora.pk]})
    assert get_user_model().objects.filter(pk=dora.pk).exists()


def test_deleting_through_the_admin_api_erases(admin_user, dora, rf):
    """delete_model and delete_queryset, which other admin paths call, erase too."""
    from django.contrib import admin

    model_admin = admin.site._registry[get_user_model()]
    request = rf.post("/")
    request.user = admin_user
    model_admin.delete_queryset(request, get_user_model().objects.filter(pk=dora.pk))
    assert_erased(dora.pk, by=admin_user)


def test_staff_cannot_erase_themselves_and_only_superusers_erase_superusers(client, dora):
    manager = make_user("manager", staff=True)
    manager.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user", "delete_user"])
    )
    owner = get_user_model().objects.create_superuser("owner", "owner@example.com", "x")
    client.force_login(manager)
    for person, why in [
        (manager, "This is your own account"),
        (owner, "Only a superuser may erase a superuser."),
    ]:
        page = client.post(
            CHANGELIST,
            {"action": "erase", "_selected_action": [person.pk], "confirm": "yes"},
            follow=True,
        ).content.decode()
        assert why in page
        assert get_user_model().objects.filter(pk=person.pk).exists()
    assert not Erasure.objects.exists()


def test_staff_without_the_delete_permission_cannot_erase(client, dora):
    viewer = make_user("viewer", staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_user"]))
    client.force_login(viewer)
    assert 'value="erase"' not in client.get(CHANGELIST).content.decode()
    assert client.get(delete_url(dora)).status_code == HTTPStatus.FORBIDDEN
    client.post(CHANGELIST, {"action": "erase", "_selected_action": [dora.pk], "confirm": "yes"})
    assert get_user_model().objects.filter(pk=dora.pk).exists()


def test_the_erasure_log_names_nobody(admin_client, admin_user, dora):
    done = admin_client.post(delete_url(dora), {"confirm": "yes"}, follow=True)
    assert "(dora)" in done.content.decode()  # told once, to the staff member who did it
    erasure = Erasure.objects.get()
    page = admin_client.get(reverse("admin:accounts_erasure_changelist")).content.decode()
    assert str(erasure.subject_id) in page
    assert "by staff, in the admin" in page
    assert "dora" not in page.lower()


def test_deleting_ones_own_account_is_the_same_erasure(client, dora):
    login(client, "dora")
    reauthenticate(client, reverse("account_delete"))
    response = client.post(reverse("account_delete"), {"confirmation": "dora"})
    assert response.status_code == HTTPStatus.FOUND
    assert_erased(dora.pk, by=None)


def test_an_erased_persons_notices_say_so_in_the_notice_list(admin_client, admin_user, dora):
    account_erase(user=dora, by=admin_user)

    page = admin_client.get(reverse("admin:policy_notice_changelist")).content.decode()

    assert page.count("erased (the person&#x27;s data was erased)") == 2
    assert "no verified address" not in page
    assert "dora@example.com" not in page
