"""Writing to the privacy team: the contact form, its spam guards, the staff inbox and address."""

import html
from http import HTTPStatus

import pytest
from django.conf import settings
from django.urls import reverse

from policy.models import ContactMessage
from tests.factories import make_user, make_verified_user
from tests.mail_backends import FlakyBackend
from tests.tables import changelist_rows, readonly_fields

pytestmark = pytest.mark.django_db

CONTACT = reverse("policy:contact", args=["privacy"])
CURRENT = reverse("policy:current", args=["privacy"])
ADDRESS = "privacy@pamedspa.biz"


def contact_data(**overrides) -> dict:
    """A valid contact form submission; pass None to leave a field out."""
    data = {
        "name": "Dana Reader",
        "email": "dana@example.com",
        "subject": "What do you keep about me?",
        "message": "Please tell me which data you hold about me.",
        "website": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_the_contact_page_shows_the_form(client, privacy):
    response = client.get(CONTACT)
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "Contact our privacy team" in page
    for field in ["name", "email", "subject", "message"]:
        assert f'name="{field}"' in page


def test_a_message_is_stored_and_emailed_to_staff_with_reply_to_the_sender(
    client, privacy, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CONTACT, contact_data())
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == CURRENT
    stored = ContactMessage.objects.get()
    assert (stored.name, stored.email, stored.subject) == (
        "Dana Reader",
        "dana@example.com",
        "What do you keep about me?",
    )
    assert stored.message == "Please tell me which data you hold about me."
    assert stored.status == ContactMessage.Status.NEW
    assert stored.user is None
    assert stored.ip_address == "127.0.0.1"
    [mail] = mailoutbox
    assert mail.to == [settings.PRIVACY_CONTACT_EMAIL]
    assert mail.reply_to == ["dana@example.com"]
    assert mail.subject == "[New Image MedSpa contact] What do you keep about me?"
    assert "Please tell me which data you hold about me." in mail.body
    assert "Dana Reader <dana@example.com>" in mail.body
    assert "not signed in" in mail.body
    assert reverse("admin:policy_contactmessage_change", args=[stored.pk]) in mail.body


def test_the_staff_mail_goes_to_the_configured_address(
    client, privacy, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.PRIVACY_CONTACT_EMAIL = "dpo@example.org"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CONTACT, contact_data())
    [mail] = mailoutbox
    assert mail.to == ["dpo@example.org"]


def test_no_mail_is_sent_before_the_message_is_committed(client, privacy, mailoutbox):
    client.post(CONTACT, contact_data())
    assert ContactMessage.objects.count() == 1
    assert mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_a_mail_failure_still_thanks_the_sender_and_keeps_the_message(
    client, privacy, settings, mailoutbox
):
    """The mail is sent after a real commit: its failure must not turn into a server error."""
    settings.EMAIL_BACKEND = "tests.mail_backends.FlakyBackend"
    FlakyBackend.failing, FlakyBackend.failures_left = {ADDRESS}, 1
    try:
        response = client.post(CONTACT, contact_data())
    finally:
        FlakyBackend.failing, FlakyBackend.failures_left = set(), 0
    assert response.status_code == HTTPStatus.FOUND
    assert ContactMessage.objects.count() == 1
    assert mailoutbox == []


def test_the_sender_is_thanked_on_the_policy_page(client, privacy):
    response = client.post(CONTACT, contact_data(), follow=True)
    assert "Your message has reached our privacy team" in response.content.decode()


def test_a_signed_in_users_message_is_linked_to_their_account(
    client, privacy, mailoutbox, django_capture_on_commit_callbacks
):
    user = make_verified_user("erin", first_name="Erin", last_name="Doe")
    client.force_login(user)
    page = client.get(CONTACT).content.decode()
    assert 'value="Erin Doe"' in page
    assert 'value="erin@example.com"' in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CONTACT, contact_data(name="Erin Doe", email="erin@example.com"))
    assert ContactMessage.objects.get().user == user
    assert user.contact_messages.count() == 1
    [mail] = mailoutbox
    assert "Account: erin" in mail.body


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"email": ""}, "email", "This field is required."),
        ({"subject": ""}, "subject", "This field is required."),
        ({"message": ""}, "message", "This field is required."),
        ({"email": "not-an-address"}, "email", "Enter a valid email address."),
        (
            {"subject": "x" * 201},
            "subject",
            "Ensure this value has at most 200 characters (it has 201).",
        ),
    ],
)
def test_bad_input_shows_field_errors_keeps_the_input_and_stores_nothing(
    client, privacy, mailoutbox, django_capture_on_commit_callbacks, overrides, field, error
):
    data = contact_data(**overrides)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CONTACT, data)
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors[field] == [error]
    page = html.unescape(response.content.decode())
    assert error in page
    for name in ["name", "email", "subject"]:
        if data[name]:
            assert f'value="{data[name]}"' in page
    if data["message"]:
        assert data["message"] in page
    assert not ContactMessage.objects.exists()
    assert mailoutbox == []


def test_a_filled_in_honeypot_is_refused_and_nothing_stored_or_sent(
    client, privacy, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CONTACT, contact_data(website="https://spam.example"))
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["website"] == [
        "This form could not be accepted. Please try again."
    ]
    assert "This form could not be accepted" in response.content.decode()
    assert not ContactMessage.objects.exists()
    assert mailoutbox == []


def test_the_default_rate_limit_is_five_a_minute_per_ip(client, privacy):
    assert settings.ACCOUNT_RATE_LIMITS["contact"] == "5/m/ip,20/h/ip"
    for n in range(5):
        assert client.post(CONTACT, contact_data(subject=f"n{n}")).status_code == HTTPStatus.FOUND
    response = client.post(CONTACT, contact_data(subject="sixth"))
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert ContactMessage.objects.count() == 5


def test_over_the_rate_limit_the_friendly_page_answers_429_and_nothing_is_stored(
    client, privacy, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "contact": "2/m/ip"}
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(2):
            client.post(CONTACT, contact_data(subject=f"message {n}"))
        response = client.post(CONTACT, contact_data(subject="one too many"))
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    page = response.content.decode()
    assert "Too many requests" in page
    assert "Please wait 1 minute and try again." in page
    assert response.headers["Retry-After"] == "60"
    assert sorted(ContactMessage.objects.values_list("subject", flat=True)) == [
        "message 0",
        "message 1",
    ]
    assert len(mailoutbox) == 2


def test_the_rate_limit_counts_per_ip_address(client, privacy, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "contact": "1/m/ip"}
    client.post(CONTACT, contact_data(), REMOTE_ADDR="10.0.0.1")
    limited = client.post(CONTACT, contact_data(), REMOTE_ADDR="10.0.0.1")
    other = client.post(CONTACT, contact_data(), REMOTE_ADDR="10.0.0.2")
    assert limited.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert other.status_code == HTTPStatus.FOUND
    assert sorted(ContactMessage.objects.values_list("ip_address", flat=True)) == [
        "10.0.0.1",
        "10.0.0.2",
    ]


def test_the_hourly_rate_limit_holds_too(client, privacy, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "contact": "50/m/ip,3/h/ip"}
    statuses = [client.post(CONTACT, contact_data()).status_code for _ in range(4)]
    assert statuses == [HTTPStatus.FOUND] * 3 + [HTTPStatus.TOO_MANY_REQUESTS]


def test_contact_for_an_unknown_document_is_not_found(client, privacy):
    url = reverse("policy:contact", args=["no-such-policy"])
    assert client.get(url).status_code == HTTPStatus.NOT_FOUND
    assert client.post(url, contact_data()).status_code == HTTPStatus.NOT_FOUND
    assert not ContactMessage.objects.exists()


# The address on the pages: readable by people and browsers, absent from the page source.


def test_the_policy_page_has_a_contact_section_with_a_link_to_the_form(client, privacy):
    page = client.get(CURRENT).content.decode()
    assert "Contact us" in page
    assert f'href="{CONTACT}"' in page


@pytest.mark.parametrize("url", [CURRENT, CONTACT])
def test_the_address_is_a_mailto_link_hidden_from_the_page_source(client, privacy, url):
    page = client.get(url).content.decode()
    assert ADDRESS not in page
    assert "mailto:privacy@" not in page
    assert "privacy&#64;" not in page  # not just the @ written as a reference
    readable = html.unescape(page)
    assert f'href="mailto:{ADDRESS}"' in readable
    assert f">{ADDRESS}</a>" in readable


@pytest.mark.parametrize("url", [CURRENT, CONTACT])
def test_the_address_follows_the_setting(client, privacy, settings, url):
    settings.PRIVACY_CONTACT_EMAIL = "dpo@example.org"
    page = client.get(url).content.decode()
    assert "dpo@example.org" not in page
    readable = html.unescape(page)
    assert 'href="mailto:dpo@example.org">dpo@example.org</a>' in readable
    assert ADDRESS not in readable


def test_a_signed_in_visitor_gets_the_hidden_address_too(client, privacy):
    client.force_login(make_user("reader"))
    page = client.get(CURRENT).content.decode()
    assert ADDRESS not in page
    assert f'href="mailto:{ADDRESS}"' in html.unescape(page)


def test_changing_the_address_changes_the_policy_page_etag(client, privacy, settings):
    before = client.get(CURRENT)
    settings.PRIVACY_CONTACT_EMAIL = "dpo@example.org"
    after = client.get(CURRENT, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == HTTPStatus.OK
    assert after["ETag"] != before["ETag"]
    assert "dpo@example.org" in html.unescape(after.content.decode())


# The staff inbox.


def test_the_admin_inbox_lists_and_shows_messages(admin_client, privacy):
    message = ContactMessage.objects.create(
        name="Dana", email="dana@example.com", subject="Delete my data", message="Please."
    )
    changelist = admin_client.get(reverse("admin:policy_contactmessage_changelist"))
    assert changelist.status_code == HTTPStatus.OK
    [row] = changelist_rows(changelist.content.decode())
    assert (row["subject"], row["name"], row["email"], row["status"]) == (
        "Delete my data",
        "Dana",
        "dana@example.com",
        "new",
    )
    change = admin_client.get(reverse("admin:policy_contactmessage_change", args=[message.pk]))
    assert change.status_code == HTTPStatus.OK
    page = change.content.decode()
    assert readonly_fields(page)["message"] == "Please."
    assert 'name="status"' in page
    assert 'name="staff_notes"' in page
    assert 'name="message"' not in page  # what the sender wrote is read-only


def test_staff_change_the_status_and_notes_but_not_what_was_written(admin_client, privacy):
    message = ContactMessage.objects.create(
        name="Dana", email="dana@example.com", subject="Delete my data", message="Please."
    )
    response = admin_client.post(
        reverse("admin:policy_contactmessage_change", args=[message.pk]),
        {
            "status": "answered",
            "staff_notes": "Replied on the phone.",
            "subject": "Rewritten",
            "message": "Rewritten",
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    message.refresh_from_db()
    assert message.status == ContactMessage.Status.ANSWERED
    assert message.staff_notes == "Replied on the phone."
    assert (message.subject, message.message) == ("Delete my data", "Please.")


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("mark_answered", ContactMessage.Status.ANSWERED),
        ("mark_closed", ContactMessage.Status.CLOSED),
    ],
)
def test_inbox_actions_change_the_status_of_the_chosen_messages(
    admin_client, privacy, action, status
):
    chosen, other = [
        ContactMessage.objects.create(name="D", email="d@example.com", subject=s, message="m")
        for s in ["chosen", "other"]
    ]
    response = admin_client.post(
        reverse("admin:policy_contactmessage_changelist"),
        {"action": action, "_selected_action": [chosen.pk]},
    )
    assert response.status_code == HTTPStatus.FOUND
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert chosen.status == status
    assert other.status == ContactMessage.Status.NEW


def test_staff_cannot_add_messages_in_the_inbox(admin_client, privacy):
    response = admin_client.get(reverse("admin:policy_contactmessage_add"))
    assert response.status_code == HTTPStatus.FORBIDDEN
    changelist = admin_client.get(reverse("admin:policy_contactmessage_changelist"))
    assert reverse("admin:policy_contactmessage_add") not in changelist.content.decode()


# Site bugs found while writing these tests.


def test_the_thank_you_shows_even_when_the_browser_revalidates_the_policy_page(client, privacy):
    etag = client.get(CURRENT)["ETag"]
    client.post(CONTACT, contact_data())
    response = client.get(CURRENT, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == HTTPStatus.OK
    assert "Your message has reached our privacy team" in response.content.decode()
