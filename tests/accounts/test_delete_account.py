"""Deleting an account: said beforehand, confirmed by username, ledger kept without a name."""

import uuid
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accounts.models import PreferenceChange, Subscription, Topic
from accounts.services.people import preference_set
from policy.models import Acceptance, Choice, ContactMessage, NewUse, Notice, PolicyVersion
from policy.services.ledger import acceptance_record, review_submit
from policy.services.versions import version_publish
from tests.factories import PASSWORD, login, make_draft, make_verified_user, reauthenticate

pytestmark = pytest.mark.django_db

ALICE_IP = "198.51.100.7"
BOB_IP = "203.0.113.9"


def ready(client):
    """Logged in as alice and freshly re-authenticated for the delete page."""
    login(client)
    response = reauthenticate(client, reverse("account_delete"))
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("account_delete")


@pytest.fixture
def records(privacy, alice):
    """Ledger rows, preferences, a notice and a contact message for alice, and for bob."""
    v1 = PolicyVersion.objects.get(document=privacy, number=1)
    draft = make_draft(privacy, summary="Adds partner offers.")
    use = NewUse.objects.create(version=draft, name="Partner offers", description="Share email.")
    v2 = version_publish(version=draft, by=None)
    news = Topic.objects.create(name="News", slug="news-test", description="Monthly news.")
    deals = Topic.objects.create(name="Deals", slug="deals-test", description="Weekly deals.")
    bob = make_verified_user("bob")
    for user, ip in [(alice, ALICE_IP), (bob, BOB_IP)]:
        agent = f"{user.username}-agent/1.0"
        acceptance_record(user=user, version=v1, method="signup", ip_address=ip, user_agent=agent)
        review_submit(
            user=user,
            version=v2,
            answers={use: True},
            method="review",
            ip_address=ip,
            user_agent=agent,
        )
        for topic in (news, deals):
            preference_set(
                user=user,
                topic=topic,
                opted_in=True,
                method="preferences",
                ip_address=ip,
                user_agent=agent,
            )
        preference_set(
            user=user,
            topic=deals,
            opted_in=False,
            method="unsubscribe",
            ip_address=ip,
            user_agent=agent,
        )
        Notice.objects.create(
            version=v2,
            user=user,
            status=Notice.Status.SENT,
            email=user.email,
            sent_at=timezone.now(),
        )
        ContactMessage.objects.create(
            user=user,
            name=user.username,
            email=user.email,
            subject=f"A question from {user.username}",
            message="Hello.",
            ip_address=ip,
        )
    return {"bob": bob, "v1": v1, "v2": v2}


def delete(client, capture, confirmation="alice"):
    """POST the confirmation; returns the response and the callbacks queued for the commit.

    The test transaction never commits, so nothing queued runs: the confirmation mail is
    checked by the transactional test below, where the request's own commit sends it.
    """
    with capture() as callbacks:
        response = client.post(reverse("account_delete"), {"confirmation": confirmation})
    return response, callbacks


def test_delete_page_needs_login(client):
    response = client.get(reverse("account_delete"))
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("account_login"))


def test_delete_by_an_anonymous_post_deletes_nothing(client, alice):
    response = client.post(reverse("account_delete"), {"confirmation": "alice"})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("account_login"))
    assert get_user_model().objects.filter(pk=alice.pk).exists()


def test_the_delete_page_explains_before_it_asks_for_the_password(client, alice):
    login(client)  # a fresh login is not a re-authentication
    response = client.get(reverse("account_delete"))
    assert response.status_code == HTTPStatus.OK
    assert "This cannot be undone." in response.content.decode()
    # The password is asked for only once the person presses the button (next test).


def test_deleting_without_reauthentication_deletes_nothing(
    client, alice, django_capture_on_commit_callbacks, mailoutbox
):
    login(client)
    response, callbacks = delete(client, django_capture_on_commit_callbacks)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert get_user_model().objects.filter(pk=alice.pk).exists()
    assert EmailAddress.objects.filter(user=alice).exists()
    assert callbacks == []
    assert mailoutbox == []


def test_reauthenticating_resumes_the_deletion(client, alice, django_capture_on_commit_callbacks):
    login(client)
    asked, _ = delete(client, django_capture_on_commit_callbacks)
    wrong = client.post(asked.url, {"password": "not my password"})
    assert wrong.status_code == HTTPStatus.OK
    assert get_user_model().objects.filter(pk=alice.pk).exists()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(asked.url, {"password": PASSWORD})  # resumes the suspended POST
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("home")
    assert not get_user_model().objects.filter(pk=alice.pk).exists()
    assert "_auth_user_id" not in client.session
    assert len(callbacks) == 1


def test_delete_page_says_beforehand_what_will_happen(client, alice):
    ready(client)
    response = client.get(reverse("account_delete"))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "This cannot be undone." in html
    assert (
        "your account, email addresses, password, sessions, two-factor settings, preferences "
        "and the messages you sent us are <strong>deleted</strong>"
    ) in html
    assert "<strong>kept as legal evidence, without your name</strong>" in html
    assert "and of the notices we emailed you" in html  # kept, as the erasure keeps them
    assert "your email address, IP address and browser are removed from it" in html
    assert "we send a confirmation to <strong>alice@example.com</strong>" in html
    assert "you are signed out" in html
    assert f'<a href="{reverse("account_data")}">download your data</a> first' in html
    assert 'name="confirmation"' in html


def test_a_wrong_confirmation_shows_an_error_and_deletes_nothing(
    client, alice, records, django_capture_on_commit_callbacks, mailoutbox
):
    ready(client)
    for wrong in ["bob", "Alice", "alice2", ""]:
        response, callbacks = delete(client, django_capture_on_commit_callbacks, wrong)
        assert callbacks == [], wrong
        assert response.status_code == HTTPStatus.OK, wrong
        assert response.context["form"].errors["confirmation"], wrong
        html = response.content.decode()
        assert ("That is not your username." in html) == bool(wrong), wrong
    assert get_user_model().objects.filter(pk=alice.pk).exists()
    assert EmailAddress.objects.filter(user=alice).count() == 1
    assert Subscription.objects.filter(user=alice).count() == 2
    assert Acceptance.objects.filter(user=alice).count() == 2
    assert Acceptance.objects.filter(subject_id__isnull=False).count() == 0
    assert ContactMessage.objects.filter(user=alice).count() == 1
    assert Notice.objects.filter(user=alice).count() == 1
    assert mailoutbox == []
    assert client.get(reverse("account_overview")).status_code == HTTPStatus.OK  # still in


def test_the_right_username_deletes_the_account_and_personal_data(
    client, alice, records, django_capture_on_commit_callbacks
):
    ready(client)
    assert UserSession.objects.filter(user=alice).exists()
    response, callbacks = delete(client, django_capture_on_commit_callbacks, " alice ")
    assert len(callbacks) == 1  # the confirmation mail, once the deletion is committed
    assert response.status_code == HTTPStatus.FOUND
    assert not get_user_model().objects.filter(pk=alice.pk).exists()
    assert not get_user_model().objects.filter(username="alice").exists()
    assert not EmailAddress.objects.filter(email="alice@example.com").exists()
    assert not Subscription.objects.filter(user_id=alice.pk).exists()
    assert not ContactMessage.objects.filter(email="alice@example.com").exists()
    assert not Notice.objects.filter(user_id=alice.pk).exists()
    assert not UserSession.objects.filter(user_id=alice.pk).exists()


def test_a_user_who_published_a_policy_version_can_still_delete(
    client, alice, privacy, django_capture_on_commit_callbacks
):
    # On PostgreSQL a trigger guards published versions; it lets the author links go empty.
    version = version_publish(version=make_draft(privacy, by=alice), by=alice)
    sha256 = version.sha256
    ready(client)
    response, _ = delete(client, django_capture_on_commit_callbacks)
    assert response.status_code == HTTPStatus.FOUND
    assert not get_user_model().objects.filter(pk=alice.pk).exists()
    version = PolicyVersion.objects.get(pk=version.pk)
    assert (version.created_by, version.published_by) == (None, None)
    assert version.published_at is not None
    assert version.sha256 == sha256


def test_a_deleted_user_cannot_log_in_any_more(
    client, alice, records, django_capture_on_commit_callbacks
):
    ready(client)
    delete(client, django_capture_on_commit_callbacks)
    for login_name in ["alice", "alice@example.com"]:
        response = client.post(
            reverse("account_login"), {"login": login_name, "password": PASSWORD}
        )
        assert response.status_code == HTTPStatus.OK, login_name
        assert response.context["form"].errors, login_name
        assert "_auth_user_id" not in client.session


def test_the_ledger_is_kept_without_a_name(
    client, alice, records, django_capture_on_commit_callbacks
):
    before = {
        model: model.objects.filter(user=alice).count()
        for model in (Acceptance, Choice, PreferenceChange)
    }
    assert before == {Acceptance: 2, Choice: 1, PreferenceChange: 3}
    ready(client)
    delete(client, django_capture_on_commit_callbacks)
    subjects = set()
    for model, count in before.items():
        rows = model.objects.filter(user__isnull=True)
        assert rows.count() == count, model
        for row in rows:
            assert isinstance(row.subject_id, uuid.UUID), model
            assert row.ip_address is None, model
            assert row.user_agent == "", model
            subjects.add(row.subject_id)
    assert len(subjects) == 1  # one random id ties the person's rows together, and no name
    assert subjects != {uuid.UUID(int=alice.pk)}
    # What the evidence says survives.
    kept = Acceptance.objects.filter(subject_id__in=subjects).order_by("version__number")
    assert [(a.version.number, a.method, a.version_sha256) for a in kept] == [
        (1, "signup", records["v1"].sha256),
        (2, "review", records["v2"].sha256),
    ]
    assert Choice.objects.get(subject_id__in=subjects).allowed is True
    assert sorted(
        PreferenceChange.objects.filter(subject_id__in=subjects).values_list("method", "opted_in")
    ) == [("preferences", True), ("preferences", True), ("unsubscribe", False)]


def test_deleting_leaves_other_users_untouched(
    client, alice, records, django_capture_on_commit_callbacks
):
    bob = records["bob"]
    ready(client)
    delete(client, django_capture_on_commit_callbacks)
    bob.refresh_from_db()
    assert EmailAddress.objects.filter(user=bob, email="bob@example.com").exists()
    assert Subscription.objects.filter(user=bob).count() == 2
    assert ContactMessage.objects.filter(user=bob).count() == 1
    assert Notice.objects.filter(user=bob).count() == 1
    for model, count in [(Acceptance, 2), (Choice, 1), (PreferenceChange, 3)]:
        rows = model.objects.filter(user=bob)
        assert rows.count() == count, model
        for row in rows:
            assert row.subject_id is None, model
            assert row.ip_address == BOB_IP, model
            assert row.user_agent == "bob-agent/1.0", model


@pytest.mark.django_db(transaction=True)
def test_a_confirmation_goes_to_the_address_the_user_had(client, mailoutbox):
    # Transactional: the request really commits, and its on_commit callback sends the mail
    # inside the request, as in production (ATOMIC_REQUESTS).
    alice = make_verified_user("alice", email="alice.home@example.org")
    ready(client)
    mailoutbox.clear()
    response = client.post(reverse("account_delete"), {"confirmation": "alice"})
    assert response.status_code == HTTPStatus.FOUND
    assert not get_user_model().objects.filter(pk=alice.pk).exists()
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["alice.home@example.org"]
    assert "Your account has been deleted" in message.subject
    assert 'Your account "alice" has been deleted, as you asked.' in message.body
    assert "linked to a random number instead of to you" in message.body


def test_deleting_signs_out_and_says_so_on_the_home_page(
    client, alice, records, django_capture_on_commit_callbacks
):
    ready(client)
    response, _ = delete(client, django_capture_on_commit_callbacks)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("home")
    assert "_auth_user_id" not in client.session
    assert not response.wsgi_request.user.is_authenticated
    home = client.get(response.url)
    assert home.status_code == HTTPStatus.OK
    assert (
        '<p class="message message--success">'
        "Your account has been deleted. We have emailed a confirmation.</p>"
    ) in home.content.decode()
    overview = client.get(reverse("account_overview"))
    assert overview.status_code == HTTPStatus.FOUND
    assert overview.url.startswith(reverse("account_login"))
