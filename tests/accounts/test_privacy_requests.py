"""Privacy requests from anyone: filed on /privacy/request/, verified by email, worked by staff.

The public side must not tell whether an account uses an address: the page, the redirect and
the email are the same either way. The verification link works once, for 24 hours. Staff move
a request through received, verified, in progress, then completed or rejected; each step is
logged with who and when, and mailed to the requester. Completing does what the kind needs:
a single-use download for access, the account's erasure for deletion, a written answer for
correction.
"""

import json
import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Erasure, PrivacyRequest, PrivacyRequestEvent
from accounts.services.requests import request_complete
from policy.dashboard import dashboard
from policy.models import Acceptance, ContactMessage, PolicyVersion
from policy.services.ledger import acceptance_record
from tests.factories import PASSWORD, link_in, login, make_user, make_verified_user, reauthenticate
from tests.processes import free_port

pytestmark = pytest.mark.django_db

FORM = reverse("privacy_request")
Status = PrivacyRequest.Status


def file(client, email="alice@example.com", kind="access", details="", **extra):
    return client.post(
        FORM, {"kind": kind, "email": email, "details": details, "website": "", **extra}
    )


def verify_link(message) -> str:
    return link_in(message, r"/privacy/request/verify/[^\s/]+/")


def filed_and_verified(client, mailoutbox, email="alice@example.com", kind="access", details=""):
    file(client, email=email, kind=kind, details=details)
    client.post(verify_link(mailoutbox[-1]))
    return PrivacyRequest.objects.get(email=email, kind=kind)


@pytest.fixture
def officer(db):
    return make_user("officer", staff=True, is_superuser=True)


@pytest.fixture
def staff_client(officer):
    client = Client()
    client.force_login(officer)
    return client


def act(staff_client, privacy_request, button: str, text: str = ""):
    url = reverse("admin:accounts_privacyrequest_change", args=[privacy_request.pk])
    return staff_client.post(url, {"text": text, button: "1", **INLINE})


# The read-only log inline still posts its management form.
INLINE = {
    "events-TOTAL_FORMS": "0",
    "events-INITIAL_FORMS": "0",
    "events-MIN_NUM_FORMS": "0",
    "events-MAX_NUM_FORMS": "0",
}


# The public form


def test_the_form_asks_what_for_an_address_and_details_with_no_account_needed(client):
    page = client.get(FORM).content.decode()
    for value, label in PrivacyRequest.Kind.choices:
        assert f'value="{value}"' in page and label in page
    assert 'name="email"' in page and 'name="details"' in page
    assert 'name="website"' in page  # the honeypot
    assert "24 hours" in page and "within 30 days" in page


def test_the_form_reads_and_writes_nothing(client):
    client.get(FORM)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(FORM).status_code == HTTPStatus.OK
    # Only the request's transaction (ATOMIC_REQUESTS) and its savepoint markers.
    assert not [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"]]


def test_filing_stores_a_received_request_and_emails_a_single_use_link(client, mailoutbox):
    response = file(client, kind="deletion", details="All of it, please.")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("privacy_request_sent")
    request = PrivacyRequest.objects.get()
    assert (request.kind, request.email, request.status) == ("deletion", "alice@example.com",
                                                             Status.RECEIVED)  # fmt: skip
    assert request.details == "All of it, please."
    assert request.due_at is None and request.user is None
    [message] = mailoutbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "[New Image MedSpa] Confirm your privacy request"
    token = verify_link(message).split("/")[-2]
    assert token not in request.verify_digest  # only a digest of the token is stored
    assert [e.status for e in request.events.all()] == [Status.RECEIVED]


def test_the_answer_and_the_email_are_the_same_whether_or_not_an_account_uses_the_address(
    mailoutbox,
):
    make_verified_user("alice")
    known, unknown = Client(), Client()

    first = file(known, email="alice@example.com")
    second = file(unknown, email="nobody@example.com")

    assert (first.status_code, first["Location"]) == (second.status_code, second["Location"])
    assert known.get(first["Location"]).content == unknown.get(second["Location"]).content
    one, other = mailoutbox
    assert one.subject == other.subject

    def normal(message):
        body = message.body.replace(message.to[0], "ADDRESS")
        return re.sub(r"/verify/[^/]+/", "/verify/TOKEN/", body)

    assert normal(one) == normal(other)


def test_a_filled_honeypot_files_nothing(client, mailoutbox):
    response = file(client, website="http://spam.example")
    assert response.status_code == HTTPStatus.OK
    assert "This form could not be accepted" in response.content.decode()
    assert not PrivacyRequest.objects.exists() and not mailoutbox


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"kind": "", "email": "a@example.com"}, "Choose what you would like us to do."),
        ({"kind": "access", "email": "not an address"}, "Enter a valid email address."),
        ({"kind": "correction", "email": "a@example.com"}, "Tell us what should be corrected."),
        ({"kind": "sell-it", "email": "a@example.com"}, "Select a valid choice."),
    ],
)
def test_bad_input_is_shown_back_and_files_nothing(client, mailoutbox, data, error):
    response = client.post(FORM, {"details": "", "website": "", **data})
    assert response.status_code == HTTPStatus.OK
    assert error in response.content.decode()
    assert not PrivacyRequest.objects.exists() and not mailoutbox


def test_the_same_address_is_rate_limited_with_a_429(client, mailoutbox):
    statuses = [file(client).status_code for _ in range(4)]
    assert statuses == [HTTPStatus.FOUND] * 3 + [HTTPStatus.TOO_MANY_REQUESTS]
    assert PrivacyRequest.objects.count() == 3


# The emailed link


def test_the_link_shows_a_button_and_only_the_post_verifies(client, mailoutbox, alice_account):
    file(client)
    link = verify_link(mailoutbox[0])

    page = client.get(link)
    assert page.status_code == HTTPStatus.OK
    assert "Confirm my request" in page.content.decode()
    assert PrivacyRequest.objects.get().status == Status.RECEIVED  # scanners GET links

    response = client.post(link)
    assert response["Location"] == reverse("privacy_request_verified")
    request = PrivacyRequest.objects.get()
    assert request.status == Status.VERIFIED
    assert request.user == alice_account  # found by the verified address, for staff
    assert request.due_at - request.verified_at == timedelta(days=30)
    assert [e.status for e in request.events.all()] == [Status.RECEIVED, Status.VERIFIED]
    verified = mailoutbox[-1]
    assert (
        verified.subject == "[New Image MedSpa] Your privacy request: verified, waiting for staff"
    )
    due = timezone.localtime(request.due_at)  # as the mail says it: in the site's time zone
    assert f"answer by {due:%B} {due.day}" in verified.body


@pytest.fixture
def alice_account(db):
    return make_verified_user("alice")


def test_the_link_works_once(client, mailoutbox):
    file(client)
    link = verify_link(mailoutbox[0])
    client.post(link)

    again = client.post(link)

    assert again.status_code == HTTPStatus.BAD_REQUEST
    assert "This link no longer works" in again.content.decode()
    assert PrivacyRequest.objects.get().events.count() == 2


def test_the_link_expires_after_24_hours(client, mailoutbox):
    file(client)
    PrivacyRequest.objects.update(received_at=timezone.now() - timedelta(hours=24, minutes=1))

    response = client.post(verify_link(mailoutbox[0]))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert PrivacyRequest.objects.get().status == Status.RECEIVED


def test_a_tampered_link_verifies_nothing(client, mailoutbox):
    file(client)
    link = verify_link(mailoutbox[0])
    response = client.post(link[:-3] + "x/")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert PrivacyRequest.objects.get().status == Status.RECEIVED


def test_a_due_date_follows_the_setting(client, mailoutbox, settings):
    settings.PRIVACY_REQUEST_DAYS = 10
    request = filed_and_verified(client, mailoutbox)
    assert request.due_at - request.verified_at == timedelta(days=10)


# Signed in: re-authentication instead of the email step


def test_a_signed_in_person_reauthenticates_and_skips_the_email_step(client, mailoutbox):
    alice = make_verified_user("alice")
    login(client)
    page = client.get(FORM).content.decode()
    assert 'name="email"' not in page and "alice@example.com" in page

    asked = client.post(FORM, {"kind": "access", "details": "", "website": ""})
    assert asked.status_code == HTTPStatus.FOUND
    assert asked.url.startswith(reverse("account_reauthenticate"))
    assert not PrivacyRequest.objects.exists()

    done = client.post(asked.url, {"password": PASSWORD})  # allauth replays the form's POST

    assert done["Location"] == reverse("privacy_request_verified")
    request = PrivacyRequest.objects.get()
    assert (request.status, request.user, request.email) == (Status.VERIFIED, alice,
                                                             "alice@example.com")  # fmt: skip
    assert request.verify_digest == ""
    [message] = [m for m in mailoutbox if "privacy request" in m.subject]
    assert "verified" in message.subject  # no link to follow


def test_a_signed_in_post_cannot_name_another_address(client, mailoutbox):
    make_verified_user("alice")
    login(client)
    reauthenticate(client, FORM)
    client.post(FORM, {"kind": "deletion", "email": "bob@example.com", "website": ""})
    assert PrivacyRequest.objects.get().email == "alice@example.com"


# Staff: the queue, the log, and each step mailed


def test_staff_start_then_reject_with_a_reason_and_each_step_is_logged_and_mailed(
    client, mailoutbox, staff_client, officer
):
    request = filed_and_verified(client, mailoutbox)

    act(staff_client, request, "_start", "Looking.")
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert "in progress" in mailoutbox[-1].subject

    refused = act(staff_client, request, "_reject", "")
    assert refused.status_code == HTTPStatus.OK
    assert "Say why the request is refused" in refused.content.decode()
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS

    act(staff_client, request, "_reject", "We could not confirm who you are.")
    request.refresh_from_db()
    assert request.status == Status.REJECTED and request.closed_at
    assert "We could not confirm who you are." in mailoutbox[-1].body
    events = list(request.events.values_list("status", "by__username", "note"))
    assert events == [
        ("received", None, "Filed on the website."),
        ("verified", None, "The requester followed the emailed link."),
        ("in_progress", "officer", "Looking."),
        ("rejected", "officer", "We could not confirm who you are."),
    ]


def test_a_closed_request_cannot_be_acted_on(client, mailoutbox, staff_client):
    request = filed_and_verified(client, mailoutbox)
    act(staff_client, request, "_reject", "No.")
    sent = len(mailoutbox)

    response = act(staff_client, request, "_start")

    request.refresh_from_db()
    assert request.status == Status.REJECTED
    assert len(mailoutbox) == sent
    assert response.status_code in {HTTPStatus.OK, HTTPStatus.FORBIDDEN}


def test_an_unverified_request_cannot_be_acted_on(client, mailoutbox, staff_client):
    file(client)
    request = PrivacyRequest.objects.get()
    response = act(staff_client, request, "_complete", "Here you are.")
    assert "cannot be marked" in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.RECEIVED


def test_access_for_an_account_gives_a_single_use_download_of_the_export(
    client, mailoutbox, staff_client, alice_account
):
    request = filed_and_verified(client, mailoutbox)

    act(staff_client, request, "_complete")

    message = mailoutbox[-1]
    assert "completed" in message.subject
    link = link_in(message, r"/privacy/request/download/[^\s/]+/")
    anyone = Client()
    assert "Download" in anyone.get(link).content.decode()  # a GET downloads nothing
    response = anyone.post(link)
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.content)
    assert data["account"]["username"] == "alice"
    assert anyone.post(link).status_code == HTTPStatus.BAD_REQUEST  # once


def test_a_download_link_expires_after_7_days(client, mailoutbox, staff_client, alice_account):
    request = filed_and_verified(client, mailoutbox)
    act(staff_client, request, "_complete")
    link = link_in(mailoutbox[-1], r"/privacy/request/download/[^\s/]+/")
    PrivacyRequest.objects.update(download_expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().post(link).status_code == HTTPStatus.BAD_REQUEST


def test_access_without_an_account_needs_what_staff_found_and_never_mails_it(
    client, mailoutbox, staff_client
):
    request = filed_and_verified(client, mailoutbox, email="walkin@example.com")
    assert request.user is None

    needed = act(staff_client, request, "_complete", "")
    assert "write what we hold about the person" in needed.content.decode()

    act(staff_client, request, "_complete", "A phone inquiry on May 2: name, number.")
    message = mailoutbox[-1]
    assert "phone inquiry" not in message.body  # personal data goes by the link only
    link = link_in(message, r"/privacy/request/download/[^\s/]+/")
    response = Client().post(link)
    assert response.content.decode() == "A phone inquiry on May 2: name, number."
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_deletion_runs_the_account_erasure_and_says_what_was_kept(
    client, mailoutbox, staff_client, officer, privacy
):
    alice = make_verified_user("alice")
    acceptance_record(
        user=alice, version=PolicyVersion.objects.get(number=1), method="signup",
        ip_address="198.51.100.7", user_agent="AliceBrowser",
    )  # fmt: skip
    EmailAddress.objects.create(user=alice, email="alice@work.example", verified=True)
    request = filed_and_verified(client, mailoutbox, kind="deletion")

    act(staff_client, request, "_complete", "Also removed from the paper file.")

    assert not get_user_model().objects.filter(username="alice").exists()
    erasure = Erasure.objects.get()
    assert (erasure.method, erasure.erased_by) == ("staff", officer)
    kept = Acceptance.objects.get()
    assert (kept.user, kept.subject_id, kept.ip_address) == (None, erasure.subject_id, None)
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert request.user is None  # the account is gone; the request stays as the record
    body = mailoutbox[-1].body
    assert "We deleted your account" in body
    assert "We keep 1 record of what you agreed to" in body
    assert "Also removed from the paper file." in body


def test_deletion_without_an_account_deletes_the_messages_sent_from_the_address(
    client, mailoutbox, staff_client
):
    ContactMessage.objects.create(
        name="Walk", email="WalkIn@example.com", subject="Hi", message="Call me."
    )
    ContactMessage.objects.create(name="Other", email="o@example.com", subject="Hi", message=".")
    request = filed_and_verified(client, mailoutbox, email="walkin@example.com", kind="deletion")

    act(staff_client, request, "_complete")

    assert list(ContactMessage.objects.values_list("email", flat=True)) == ["o@example.com"]
    assert "No account uses this address. We deleted 1 message you sent us" in mailoutbox[-1].body


def test_correction_needs_what_staff_changed(client, mailoutbox, staff_client):
    request = filed_and_verified(
        client, mailoutbox, kind="correction", details="My name is Ann, not Anne."
    )
    assert "Say what you changed" in act(staff_client, request, "_complete").content.decode()
    act(staff_client, request, "_complete", "Changed the name to Ann.")
    assert "Changed the name to Ann." in mailoutbox[-1].body


def test_a_mail_server_failure_leaves_the_request_as_it_was(
    client, mailoutbox, staff_client, settings
):
    request = filed_and_verified(client, mailoutbox)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2

    response = act(staff_client, request, "_reject", "No.")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    request.refresh_from_db()
    assert request.status == Status.VERIFIED
    assert request.events.count() == 2


def test_view_only_staff_see_the_queue_but_cannot_act(client, mailoutbox):
    request = filed_and_verified(client, mailoutbox)
    viewer = make_user("viewer", staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_privacyrequest"))
    staff = Client()
    staff.force_login(viewer)
    url = reverse("admin:accounts_privacyrequest_change", args=[request.pk])

    page = staff.get(url).content.decode()
    assert "_start" not in page and "_complete" not in page
    assert act(staff, request, "_reject", "No.").status_code == HTTPStatus.FORBIDDEN
    request.refresh_from_db()
    assert request.status == Status.VERIFIED


def test_nobody_adds_or_deletes_a_request_in_the_admin(client, mailoutbox, staff_client):
    request = filed_and_verified(client, mailoutbox)
    add = reverse("admin:accounts_privacyrequest_add")
    delete = reverse("admin:accounts_privacyrequest_delete", args=[request.pk])
    assert staff_client.get(add).status_code == HTTPStatus.FORBIDDEN
    assert staff_client.post(delete, {"post": "yes"}).status_code == HTTPStatus.FORBIDDEN
    assert PrivacyRequest.objects.exists()
    with pytest.raises(Exception):  # noqa: B017, PT011
        PrivacyRequestEvent.objects.all().delete()


def test_the_queue_marks_urgent_and_overdue_requests(client, mailoutbox, staff_client):
    soon = filed_and_verified(client, mailoutbox, email="soon@example.com")
    late = filed_and_verified(client, mailoutbox, email="late@example.com")
    filed_and_verified(client, mailoutbox, email="later@example.com")
    PrivacyRequest.objects.filter(pk=soon.pk).update(due_at=timezone.now() + timedelta(days=3))
    PrivacyRequest.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=1))

    page = staff_client.get(reverse("admin:accounts_privacyrequest_changelist")).content.decode()

    assert page.count("(urgent)") == 1 and page.count("(overdue)") == 1
    urgent = staff_client.get(
        reverse("admin:accounts_privacyrequest_changelist") + "?urgency=urgent"
    ).content.decode()
    assert "soon@example.com" in urgent and "late@example.com" in urgent
    assert "later@example.com" not in urgent


def test_the_dashboard_shows_open_and_urgent_requests(client, mailoutbox):
    before = dashboard().attention
    [section] = [s for s in dashboard().sections if s.title == "Privacy requests"]
    assert section.items == []

    soon = filed_and_verified(client, mailoutbox, email="soon@example.com")
    filed_and_verified(client, mailoutbox, email="later@example.com")
    PrivacyRequest.objects.filter(pk=soon.pk).update(due_at=timezone.now() + timedelta(days=3))

    board = dashboard()
    [section] = [s for s in board.sections if s.title == "Privacy requests"]
    texts = [item.text for item in section.items]
    assert texts[0].startswith("2 open requests; the next is due on ")
    assert texts[1:] == ["1 due within 7 days."]
    assert board.attention == before + 1


def test_the_workflow_refuses_to_complete_a_request_twice(client, mailoutbox, officer, rf):
    request = filed_and_verified(client, mailoutbox, kind="correction", details="x")
    staff_request = rf.post("/admin/")
    request_complete(request=staff_request, privacy_request=request, by=officer, outcome="Done.")

    with pytest.raises(ValidationError, match="cannot be marked"):
        request_complete(
            request=staff_request, privacy_request=request, by=officer, outcome="Again."
        )
    assert request.events.filter(status=Status.COMPLETED).count() == 1


def act_with_file(staff_client, privacy_request, text, name, content):
    url = reverse("admin:accounts_privacyrequest_change", args=[privacy_request.pk])
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    return staff_client.post(url, {"text": text, "_complete": "1", "file": upload, **INLINE})


def test_staff_attach_a_file_which_is_downloaded_once_then_deleted(
    client, mailoutbox, staff_client
):
    request = filed_and_verified(client, mailoutbox, email="walkin@example.com")

    act_with_file(staff_client, request, "", "scan of our file.pdf", b"%PDF-1.4 the scan")

    link = link_in(mailoutbox[-1], r"/privacy/request/download/[^\s/]+/")
    response = Client().post(link)
    assert response.content == b"%PDF-1.4 the scan"
    assert response["Content-Type"] == "application/octet-stream"
    assert "scan of our file.pdf" in response["Content-Disposition"]
    request.refresh_from_db()
    assert bytes(request.attachment) == b""  # deleted from the site once downloaded
    assert (request.attachment_name, request.attachment_size) == ("scan of our file.pdf", 17)


def test_a_note_and_a_file_come_as_one_zip(client, mailoutbox, staff_client):
    import io
    import zipfile

    request = filed_and_verified(client, mailoutbox, email="walkin@example.com")
    act_with_file(staff_client, request, "We found one call.", "../../etc/passwd", b"data")

    link = link_in(mailoutbox[-1], r"/privacy/request/download/[^\s/]+/")
    response = Client().post(link)
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["our-answer.txt", "passwd"]  # no folders
    assert archive.read("our-answer.txt") == b"We found one call."


def test_a_file_is_refused_when_too_big_or_for_an_account(
    client, mailoutbox, staff_client, alice_account, settings
):
    walkin = filed_and_verified(client, mailoutbox, email="walkin@example.com")
    big = b"x" * (5 * 1024 * 1024 + 1)
    page = act_with_file(staff_client, walkin, "", "big.bin", big).content.decode()
    assert "The file is too big: at most 5 MB." in page
    account = filed_and_verified(client, mailoutbox)
    page = act_with_file(staff_client, account, "", "a.pdf", b"x").content.decode()
    assert "Attach a file only to answer a request for a copy" in page
    assert not PrivacyRequest.objects.filter(status=Status.COMPLETED).exists()


def test_the_change_page_offers_the_file_field_in_a_multipart_form(
    client, mailoutbox, staff_client
):
    request = filed_and_verified(client, mailoutbox, email="walkin@example.com")
    url = reverse("admin:accounts_privacyrequest_change", args=[request.pk])
    page = staff_client.get(url).content.decode()
    assert 'type="file" name="file"' in page
    assert 'enctype="multipart/form-data"' in page


def test_a_used_link_says_so_before_offering_a_button(client, mailoutbox):
    file(client)
    link = verify_link(mailoutbox[0])
    client.post(link)

    page = client.get(link)

    assert page.status_code == HTTPStatus.BAD_REQUEST
    assert "This link no longer works" in page.content.decode()
    assert "Confirm my request" not in page.content.decode()


def test_a_staff_note_on_a_copy_for_an_account_comes_with_the_data(
    client, mailoutbox, staff_client, alice_account
):
    import io
    import zipfile

    request = filed_and_verified(client, mailoutbox)
    act(staff_client, request, "_complete", "Here is everything your account holds.")

    assert "Here is everything" not in mailoutbox[-1].body
    link = link_in(mailoutbox[-1], r"/privacy/request/download/[^\s/]+/")
    archive = zipfile.ZipFile(io.BytesIO(Client().post(link).content))
    assert archive.read("our-answer.txt") == b"Here is everything your account holds."
    assert json.loads(archive.read("your-data.json"))["account"]["username"] == "alice"


def test_a_log_entry_reads_in_the_sites_time_zone(client, mailoutbox):
    from datetime import UTC, datetime

    request = filed_and_verified(client, mailoutbox)
    event = PrivacyRequestEvent.objects.create(
        request=request, status=Status.IN_PROGRESS, at=datetime(2026, 11, 30, 21, 56, tzinfo=UTC)
    )
    assert str(event) == "Nov 30, 2026, 16:56: In progress"  # New York, as the admin shows
