"""Your data: what the site keeps and why, and a download of all of it (and nobody else's)."""

import json
import re
from http import HTTPStatus

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Topic
from accounts.services.people import preference_set
from policy.models import ContactMessage, NewUse, Notice, PolicyVersion
from policy.services.ledger import acceptance_record, review_submit
from policy.services.versions import version_publish
from tests.factories import PASSWORD, login, make_draft, make_verified_user, reauthenticate

pytestmark = pytest.mark.django_db

ALICE_IP = "198.51.100.7"
BOB_IP = "203.0.113.99"
BOB_UA = "BobBrowser/9.9 (marker-of-bob)"
ALICE_CONTACT_IP = "198.51.100.77"


def download(client):
    """Log in, re-authenticate, then download; returns the response."""
    login(client)
    reauthenticate(client, reverse("account_data"))
    return client.post(reverse("account_data_download"))


@pytest.fixture
def records(privacy, alice):
    """One record of every kind for alice, and for bob, each with markers of its owner."""
    v1 = PolicyVersion.objects.get(document=privacy, number=1)
    draft = make_draft(privacy, summary="Adds partner offers.")
    use = NewUse.objects.create(
        version=draft, name="Partner offers", description="Share your email with partners."
    )
    v2 = version_publish(version=draft, by=None)
    alice_topic = Topic.objects.create(name="Alice news", slug="alice-news", description="News.")
    bob_topic = Topic.objects.create(name="Bob deals", slug="bob-deals", description="Deals.")
    bob = make_verified_user("bob", email="bob.private@example.net")

    acceptance_record(
        user=alice, version=v1, method="signup", ip_address=ALICE_IP, user_agent="AliceAgent/1.0"
    )
    review_submit(
        user=alice,
        version=v2,
        answers={use: True},
        method="review",
        ip_address=ALICE_IP,
        user_agent="AliceAgent/1.0",
    )
    preference_set(
        user=alice,
        topic=alice_topic,
        opted_in=True,
        method="preferences",
        ip_address=ALICE_IP,
        user_agent="AliceAgent/1.0",
    )
    Notice.objects.create(
        version=v2,
        user=alice,
        status=Notice.Status.SENT,
        email="alice@example.com",
        sent_at=timezone.now(),
    )
    ContactMessage.objects.create(
        user=alice,
        name="Alice A.",
        email="alice@example.com",
        subject="Alice asks about cookies",
        message="Which cookies do you set?",
        ip_address=ALICE_CONTACT_IP,
    )

    review_submit(
        user=bob,
        version=v2,
        answers={use: False},
        method="email_link",
        ip_address=BOB_IP,
        user_agent=BOB_UA,
    )
    acceptance_record(
        user=bob, version=v1, method="signup", ip_address="203.0.113.98", user_agent=BOB_UA
    )
    preference_set(
        user=bob,
        topic=bob_topic,
        opted_in=True,
        method="unsubscribe",
        ip_address="203.0.113.97",
        user_agent=BOB_UA,
    )
    Notice.objects.create(
        version=v1, user=bob, status=Notice.Status.FAILED, email="bob.notices@example.net"
    )
    ContactMessage.objects.create(
        user=bob,
        name="Robert Bobson",
        email="bob.contact@example.net",
        subject="Bob wants a refund",
        message="Secret of bob.",
        ip_address="203.0.113.96",
    )
    bob_client = Client(REMOTE_ADDR=BOB_IP, headers={"user-agent": BOB_UA})
    login(bob_client, "bob")
    assert UserSession.objects.filter(user=bob, ip=BOB_IP).exists()
    return {"bob": bob, "v1": v1, "v2": v2, "use": use}


def leaves(data, key=None):
    """Every (key, scalar value) pair in nested JSON data."""
    if isinstance(data, dict):
        for k, value in data.items():
            yield from leaves(value, k)
    elif isinstance(data, list):
        for value in data:
            yield from leaves(value, key)
    else:
        yield key, data


def test_your_data_needs_login(client):
    response = client.get(reverse("account_data"))
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("account_login"))


def test_your_data_says_what_is_kept_and_why(client, alice):
    login(client)
    response = client.get(reverse("account_data"))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Here is everything we keep about you, and why." in html
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", html)
    assert rows == [
        (
            "Your username, name and email addresses",
            "To let you sign in, and to send you the messages you asked for and the notices the "
            "law or our policy requires.",
        ),
        (
            "Your password, hashed with Argon2",
            "To check it when you sign in. We cannot read it.",
        ),
        (
            "Your sessions: IP address, browser, times",
            "So you can see and end your sessions, and to protect your account.",
        ),
        (
            "The policy versions you accepted, and your choices about new uses of your data",
            "As evidence of what you agreed to, and so we only use your data as you allowed.",
        ),
        (
            "Your preferences, and every change to them",
            "So we send you only what you chose, and can show when you chose it.",
        ),
        (
            "Notices we emailed you",
            "So nobody gets the same notice twice, and we can show that we told you.",
        ),
        (
            "Two-factor authentication: which methods you set up, and when "
            "(the secrets themselves are not in the download)",
            "To protect your account.",
        ),
        (
            "Messages you sent us, with the IP address they came from",
            "To answer them, and to keep spam out.",
        ),
    ]
    assert f'action="{reverse("account_data_download")}"' in html
    assert f'<a href="{reverse("account_delete")}">Delete my account</a>' in html


def test_download_needs_login(client):
    response = client.post(reverse("account_data_download"))
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("account_login"))
    assert "Content-Disposition" not in response.headers


def test_download_refuses_get(client, alice):
    login(client)
    reauthenticate(client, reverse("account_data"))
    response = client.get(reverse("account_data_download"))
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_download_without_reauthentication_asks_for_the_password_and_sends_nothing(client, alice):
    login(client)  # a fresh login is not a re-authentication
    response = client.post(reverse("account_data_download"))
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert "Content-Disposition" not in response.headers
    assert not response.get("Content-Type", "").startswith("application/json")
    assert b"alice@example.com" not in response.content


def test_after_reauthenticating_the_person_lands_back_on_the_data_page(client, alice):
    login(client)
    asked = client.post(reverse("account_data_download"))
    wrong = client.post(asked.url, {"password": "not my password"})
    assert wrong.status_code == HTTPStatus.OK
    assert "Content-Disposition" not in wrong.headers
    confirmed = client.post(asked.url, {"password": PASSWORD})
    assert confirmed.status_code == HTTPStatus.FOUND
    assert confirmed.url == reverse("account_data") + "?confirmed"
    page = client.get(confirmed.url).content.decode()
    assert "you confirmed it's you. Press the button to download" in page
    response = client.post(reverse("account_data_download"))  # no second password
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert json.loads(response.content)["account"]["username"] == "alice"


def test_download_is_a_json_attachment_that_is_not_cached(client, alice):
    response = download(client)
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Content-Type"] == "application/json"
    name = f"pamedspa-alice-{timezone.now():%Y%m%d}.json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert "no-store" in response.headers["Cache-Control"]


def test_download_holds_everything_about_the_user(client, alice, records):
    data = json.loads(download(client).content)

    account = data["account"]
    assert account["username"] == "alice"
    assert account["email_addresses"] == [
        {"email": "alice@example.com", "verified": True, "primary": True}
    ]
    assert account["last_login"] is not None

    assert len(data["sessions"]) == 1
    assert data["sessions"][0]["ip"] == "127.0.0.1"
    assert data["sessions"][0]["created_at"]

    acceptances = sorted(data["policy_acceptances"], key=lambda a: a["version"])
    assert [(a["document"], a["version"], a["method"]) for a in acceptances] == [
        ("privacy", 1, "signup"),
        ("privacy", 2, "review"),
    ]
    assert acceptances[1]["sha256"] == records["v2"].sha256
    assert {a["ip"] for a in acceptances} == {ALICE_IP}
    assert {a["user_agent"] for a in acceptances} == {"AliceAgent/1.0"}

    assert len(data["choices"]) == 1
    choice = data["choices"][0]
    assert (choice["purpose"], choice["allowed"], choice["version"]) == ("partner-offers", True, 2)
    assert (choice["method"], choice["ip"]) == ("review", ALICE_IP)

    assert [(p["topic"], p["opted_in"]) for p in data["preferences"]] == [("alice-news", True)]
    assert [
        (c["topic"], c["opted_in"], c["method"], c["ip"]) for c in data["preference_changes"]
    ] == [("alice-news", True, "preferences", ALICE_IP)]

    assert len(data["notices"]) == 1
    notice = data["notices"][0]
    assert (notice["about"], notice["status"]) == ("Privacy Policy v2", "sent")
    assert notice["email"] == "alice@example.com"
    assert notice["sent_at"]

    assert len(data["contact_messages"]) == 1
    message = data["contact_messages"][0]
    assert message["subject"] == "Alice asks about cookies"
    assert message["message"] == "Which cookies do you set?"
    assert (message["name"], message["email"], message["status"]) == (
        "Alice A.",
        "alice@example.com",
        "new",
    )


def test_download_holds_nothing_of_another_user(client, alice, records):
    bob = records["bob"]
    text = download(client).content.decode()
    data = json.loads(text)
    lowered = text.lower()
    for marker in [
        "bob",  # username, emails, name, user agent, topic, contact message
        "bob.private@example.net",
        "bob.notices@example.net",
        "bob.contact@example.net",
        "robert",
        "refund",
        "203.0.113.",  # every IP of bob's
        "email_link",  # how bob answered the review
        "failed",  # bob's notice status
        "unsubscribe",  # how bob changed his preference
    ]:
        assert marker not in lowered, marker
    # No id of bob's, in any form (booleans aside, the only numbers are version numbers).
    for key, value in leaves(data):
        if type(value) is int and key != "version":
            assert value != bob.pk, key
        if isinstance(value, str):
            assert value != str(bob.pk), key
    # And no row of his, counted: alice has exactly her own.
    assert len(data["sessions"]) == 1
    assert len(data["policy_acceptances"]) == 2
    assert len(data["choices"]) == 1
    assert len(data["preferences"]) == 1
    assert len(data["preference_changes"]) == 1
    assert len(data["notices"]) == 1
    assert len(data["contact_messages"]) == 1
    assert [e["email"] for e in data["account"]["email_addresses"]] == ["alice@example.com"]


def test_download_holds_the_ip_address_stored_with_a_contact_message(client, alice, records):
    data = json.loads(download(client).content)
    assert ALICE_CONTACT_IP in data["contact_messages"][0].values()
