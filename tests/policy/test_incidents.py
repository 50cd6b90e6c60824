"""Breach notices: written in the admin, sent once to exactly the chosen people, then frozen."""

import html
import re
from collections import Counter
from datetime import datetime
from http import HTTPStatus
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from policy.delivery.audience import Audience, AudienceChanged
from policy.delivery.outbox import notice_recipients, notices_deliver
from policy.forms import IncidentAudienceForm
from policy.models import Incident, Notice
from policy.services.incidents import incident_send
from tests.factories import make_user, make_verified_user
from tests.tables import changelist_rows, readonly_fields

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
CHANGELIST = reverse("admin:policy_incident_changelist")


@pytest.fixture
def incident(admin_user) -> Incident:
    return Incident.objects.create(
        subject="A laptop was stolen",
        body="On May 2 a laptop with customer names was stolen.\n\nChange your password.",
        created_by=admin_user,
    )


def send_url(incident: Incident) -> str:
    return reverse("admin:policy_incident_send", args=[incident.pk])


def change_url(incident: Incident) -> str:
    return reverse("admin:policy_incident_change", args=[incident.pk])


def recipients(mailoutbox) -> Counter:
    return Counter(address for message in mailoutbox for address in message.to)


def notified(incident: Incident) -> set[str]:
    return set(incident.notices.values_list("user__username", flat=True))


def confirmation(page: str) -> str:
    """The signed audience a confirmation page carries, or "" when it offers no send."""
    found = re.search(r'name="confirmed" value="([^"]+)"', page)
    return found.group(1) if found else ""


def send(client, incident, capture, data: dict, count: int):
    """Count (step 1), check the page shows `count`, then confirm that audience (step 2)."""
    page = client.post(send_url(incident), data).content.decode()
    if count:
        assert f"This notice will be emailed to {count} " in page
    with capture(execute=True):
        return client.post(send_url(incident), {**data, "confirmed": confirmation(page)})


# Writing a notice.


def test_a_notice_written_in_the_admin_is_stamped_with_its_author(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:policy_incident_add"),
        {"subject": "A laptop was stolen", "body": "What happened, and what to do."},
    )
    assert response.status_code == HTTPStatus.FOUND
    incident = Incident.objects.get()
    assert incident.subject == "A laptop was stolen"
    assert incident.body == "What happened, and what to do."
    assert incident.created_by == admin_user
    assert incident.sent_at is None
    assert not incident.notices.exists()


def test_an_unsent_notice_can_be_edited_and_offers_to_send(admin_client, incident):
    page = admin_client.get(change_url(incident)).content.decode()
    assert 'name="subject"' in page
    assert 'name="body"' in page
    assert "Choose recipients and send…" in page
    assert send_url(incident) in page
    assert "Hello …," in page  # the preview of the email, with the account page as the mail has
    assert f"Your account, your answers and your preferences: {settings.SITE_URL}/accounts/" in page


# Step 1: choosing and counting the recipients sends nothing.


def test_counting_everyone_shows_the_number_and_sends_nothing(
    admin_client, incident, people, mailoutbox, django_capture_on_commit_callbacks
):
    assert admin_client.get(send_url(incident)).status_code == HTTPStatus.OK
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(send_url(incident), {"audience": "all"})
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "This notice will be emailed to 3 people" in page
    assert confirmation(page)
    assert response.context["count"] == 3
    assert mailoutbox == []
    assert not Notice.objects.exists()
    incident.refresh_from_db()
    assert incident.sent_at is None


def test_an_audience_nobody_matches_cannot_be_sent(
    admin_client, incident, people, mailoutbox, django_capture_on_commit_callbacks
):
    data = {"audience": "list", "names": "nobody\nnewbie\ndormant"}
    page = admin_client.post(send_url(incident), data).content.decode()
    assert "No active account with a verified address matches" in page
    assert 'name="confirmed"' not in page
    send(admin_client, incident, django_capture_on_commit_callbacks, data, 0)
    incident.refresh_from_db()
    assert incident.sent_at is None
    assert mailoutbox == []


def test_a_joined_audience_needs_both_days(admin_client, incident, people):
    response = admin_client.post(
        send_url(incident), {"audience": "joined", "joined_from": "2024-01-01"}
    )
    assert "Give both the first and the last day." in response.content.decode()
    assert response.context["count"] is None


def test_an_empty_list_is_refused(admin_client, incident, people):
    response = admin_client.post(send_url(incident), {"audience": "list", "names": " \n,\n"})
    assert "Give at least one username or email address." in response.content.decode()
    assert response.context["count"] is None


# Step 2: sending to the confirmed number.


def test_sending_to_everyone_reaches_each_verified_active_user_once(
    admin_client,
    admin_user,
    incident,
    people,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    response = send(
        admin_client, incident, django_capture_on_commit_callbacks, {"audience": "all"}, 3
    )
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == change_url(incident)
    assert notified(incident) == {"alice", "bob", "carol"}
    assert set(incident.notices.values_list("status", flat=True)) == {"sent"}
    assert recipients(mailoutbox) == Counter(
        {"alice@example.com": 1, "bob@example.com": 1, "carol@example.com": 1}
    )
    incident.refresh_from_db()
    assert incident.sent_at is not None
    assert incident.sent_by == admin_user
    assert incident.audience == "every active user with a verified email address: 3 recipients"


def test_the_email_has_the_subject_and_a_text_and_an_html_part(
    admin_client, incident, mailoutbox, django_capture_on_commit_callbacks
):
    make_verified_user("alice")
    send(admin_client, incident, django_capture_on_commit_callbacks, {"audience": "all"}, 1)
    [mail] = mailoutbox
    assert mail.subject == "[New Image MedSpa] A laptop was stolen"
    assert mail.body.startswith("Hello alice,")
    assert "On May 2 a laptop with customer names was stolen." in mail.body
    [(html_part, mimetype)] = mail.alternatives
    assert mimetype == "text/html"
    assert "Hello alice," in html_part
    assert "<p>Change your password.</p>" in html_part


def test_running_delivery_again_sends_nothing_twice(
    admin_client, incident, people, mailoutbox, django_capture_on_commit_callbacks
):
    send(admin_client, incident, django_capture_on_commit_callbacks, {"audience": "all"}, 3)
    assert len(mailoutbox) == 3
    again = notices_deliver()
    assert (again.sent, again.failed, again.retrying) == (0, 0, 0)
    assert recipients(mailoutbox) == Counter(
        {"alice@example.com": 1, "bob@example.com": 1, "carol@example.com": 1}
    )
    assert incident.notices.count() == 3


def test_the_admin_is_told_how_many_it_goes_to(
    admin_client, incident, people, django_capture_on_commit_callbacks
):
    page = admin_client.post(send_url(incident), {"audience": "all"}).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            send_url(incident), {"audience": "all", "confirmed": confirmation(page)}, follow=True
        )
    assert "Sending the notice to 3 people." in response.content.decode()
    history = admin_client.get(
        change_url(incident).replace("/change/", "/history/")
    ).content.decode()
    assert "Sent to 3 people." in history  # in the notice's admin History, with who and when


@pytest.mark.parametrize("forged", ["", "3", "not-a-signature", "WyJhbGwiLDMsIngiXQ:1x:abc"])
def test_a_forged_or_missing_confirmation_sends_nothing(
    admin_client, incident, people, mailoutbox, django_capture_on_commit_callbacks, forged
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(send_url(incident), {"audience": "all", "confirmed": forged})
    assert response.status_code == HTTPStatus.OK
    assert "This notice will be emailed to 3 people" in response.content.decode()
    assert not incident.notices.exists()
    assert mailoutbox == []
    incident.refresh_from_db()
    assert incident.sent_at is None


def test_a_count_that_changed_since_it_was_shown_sends_nothing(
    admin_client, incident, people, mailoutbox, django_capture_on_commit_callbacks
):
    shown = admin_client.post(send_url(incident), {"audience": "all"}).content.decode()
    make_verified_user("dave")  # signs up between the two steps
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            send_url(incident), {"audience": "all", "confirmed": confirmation(shown)}
        )
    page = response.content.decode()
    assert "The recipients are not the ones you confirmed" in page
    assert "This notice will be emailed to 4 people" in page
    assert not incident.notices.exists()
    assert mailoutbox == []


def test_an_audience_changed_after_counting_is_shown_before_anything_is_sent(
    admin_client, incident, people, mailoutbox, django_capture_on_commit_callbacks
):
    """Count everyone, then choose "joined today": the same 3 people, another audience."""
    shown = admin_client.post(send_url(incident), {"audience": "all"}).content.decode()
    today = timezone.localdate().isoformat()
    changed = {"audience": "joined", "joined_from": today, "joined_to": today}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            send_url(incident), {**changed, "confirmed": confirmation(shown)}
        )
    page = response.content.decode()
    assert "The recipients are not the ones you confirmed" in page
    assert f"Recipients:</strong> users who joined from {today} to {today}." in page
    assert "This notice will be emailed to 3 people" in page
    assert not incident.notices.exists() and mailoutbox == []

    send(admin_client, incident, django_capture_on_commit_callbacks, changed, 3)  # now confirmed
    incident.refresh_from_db()
    assert incident.audience == f"users who joined from {today} to {today}: 3 recipients"


def test_names_on_the_list_that_matched_nobody_are_shown_and_kept(
    admin_client, incident, people, django_capture_on_commit_callbacks
):
    data = {"audience": "list", "names": "alice\nnobody\nAlicia@Typo.example\nnewbie\ndormant"}
    page = admin_client.post(send_url(incident), data).content.decode()
    unmatched, _, unreachable = page.partition("to an account that will get nothing")
    assert "2 names on the list matched no account" in unmatched
    assert "<li>nobody</li>" in unmatched and "<li>Alicia@Typo.example</li>" in unmatched
    # Accounts that get nothing (unverified, inactive) are named apart, not left out silently.
    assert "2 names on the list belong" in unmatched
    assert "<li>newbie</li>" in unreachable and "<li>dormant</li>" in unreachable
    assert "<li>alice</li>" not in page

    send(admin_client, incident, django_capture_on_commit_callbacks, data, 1)

    incident.refresh_from_db()
    assert incident.unmatched == "Alicia@Typo.example\nnobody"
    record = admin_client.get(change_url(incident)).content.decode()
    assert "Alicia@Typo.example" in record and "nobody" in record


def test_a_sent_notice_cannot_be_sent_again(
    admin_client, incident, people, mailoutbox, django_capture_on_commit_callbacks
):
    send(admin_client, incident, django_capture_on_commit_callbacks, {"audience": "all"}, 3)
    sent_at = Incident.objects.get(pk=incident.pk).sent_at
    make_verified_user("dave")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            send_url(incident), {"audience": "all", "confirmed": "anything"}, follow=True
        )
    assert "This notice was already sent." in response.content.decode()
    assert response.redirect_chain == [(change_url(incident), HTTPStatus.FOUND)]
    assert notified(incident) == {"alice", "bob", "carol"}
    assert len(mailoutbox) == 3
    incident.refresh_from_db()
    assert incident.sent_at == sent_at
    assert incident.audience.endswith(": 3 recipients")


def everyone(incident: Incident, by) -> dict:
    audience = Audience.of("all", notice_recipients(None))
    return {"incident": incident, "users": None, "by": by, "criteria": "all",
            "description": "everyone", "confirmed": audience}  # fmt: skip


def test_the_service_refuses_to_send_twice(incident, people, admin_user):
    incident_send(**everyone(incident, admin_user))
    with pytest.raises(ValidationError, match="already sent"):
        incident_send(**everyone(incident, admin_user))
    assert incident.notices.count() == 3


def test_the_service_sends_only_the_audience_it_was_shown(incident, people, admin_user):
    shown = everyone(incident, admin_user)
    make_verified_user("dave")
    with pytest.raises(AudienceChanged) as changed:
        incident_send(**shown)
    assert changed.value.now.count == 4
    assert not incident.notices.exists()


# Other audiences.


def test_a_typed_list_reaches_exactly_the_people_on_it(
    admin_client, incident, people, mailoutbox, django_capture_on_commit_callbacks
):
    data = {"audience": "list", "names": "alice\n  BOB@example.com  \nnobody\nnewbie\ndormant\n"}
    page = admin_client.post(send_url(incident), data).content.decode()
    assert "This notice will be emailed to 2 people" in page
    send(admin_client, incident, django_capture_on_commit_callbacks, data, 2)
    assert notified(incident) == {"alice", "bob"}
    assert recipients(mailoutbox) == Counter({"alice@example.com": 1, "bob@example.com": 1})
    incident.refresh_from_db()
    assert incident.audience == "a list of 5 usernames or email addresses: 2 recipients"


def test_a_person_named_twice_on_the_list_is_written_to_once(
    admin_client, incident, people, mailoutbox, django_capture_on_commit_callbacks
):
    data = {"audience": "list", "names": "carol\ncarol@example.com\ncarol@work.example\ncarol"}
    page = admin_client.post(send_url(incident), data).content.decode()
    assert "This notice will be emailed to 1 person" in page
    send(admin_client, incident, django_capture_on_commit_callbacks, data, 1)
    assert recipients(mailoutbox) == Counter({"carol@example.com": 1})


def test_an_uploaded_list_reaches_exactly_the_people_in_it(
    admin_client, incident, people, mailoutbox, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile(
        "affected.csv", b'carol\r\n"bob@example.com",\r\nnewbie\r\n', content_type="text/csv"
    )
    response = admin_client.post(send_url(incident), {"audience": "list", "upload": upload})
    page = response.content.decode()
    assert "This notice will be emailed to 2 people" in page
    # The confirmation step carries the uploaded names in the text box: files are not resent.
    names = response.context["form"]["names"].value()
    assert names.splitlines() == ["bob@example.com", "carol", "newbie"]
    send(
        admin_client,
        incident,
        django_capture_on_commit_callbacks,
        {"audience": "list", "names": names},
        2,
    )
    assert notified(incident) == {"bob", "carol"}
    assert recipients(mailoutbox) == Counter({"bob@example.com": 1, "carol@example.com": 1})


def test_an_upload_and_typed_names_are_combined(admin_client, incident, people):
    upload = SimpleUploadedFile("affected.txt", b"alice\n")
    response = admin_client.post(
        send_url(incident), {"audience": "list", "names": "bob", "upload": upload}
    )
    assert response.context["count"] == 2


def test_an_upload_that_is_not_utf8_is_refused(admin_client, incident, people):
    upload = SimpleUploadedFile("affected.txt", "zoë\n".encode("latin-1"))
    response = admin_client.post(send_url(incident), {"audience": "list", "upload": upload})
    assert "The file must be UTF-8 text." in response.content.decode()
    assert response.context["count"] is None


def test_a_joined_audience_reaches_those_who_joined_in_the_period(
    admin_client, incident, mailoutbox, django_capture_on_commit_callbacks
):
    def joined(name: str, *when: int) -> None:
        make_verified_user(name, date_joined=datetime(*when, tzinfo=NEW_YORK))

    joined("before", 2024, 2, 29, 23, 59)
    joined("first", 2024, 3, 1, 0, 1)
    joined("middle", 2024, 3, 15, 12)
    joined("last", 2024, 3, 31, 23, 30)  # April 1 in UTC: the site's own days count
    joined("after", 2024, 4, 1, 0, 1)
    make_verified_user(
        "inactive", is_active=False, date_joined=datetime(2024, 3, 15, tzinfo=NEW_YORK)
    )
    data = {"audience": "joined", "joined_from": "2024-03-01", "joined_to": "2024-03-31"}
    page = admin_client.post(send_url(incident), data).content.decode()
    assert "This notice will be emailed to 3 people" in page
    send(admin_client, incident, django_capture_on_commit_callbacks, data, 3)
    assert notified(incident) == {"first", "middle", "last"}
    assert recipients(mailoutbox) == Counter(
        {"first@example.com": 1, "middle@example.com": 1, "last@example.com": 1}
    )
    incident.refresh_from_db()
    assert incident.audience == "users who joined from 2024-03-01 to 2024-03-31: 3 recipients"


# The record afterwards.


def test_the_changelist_shows_recipients_sent_due_and_failed(
    admin_client, incident, people, django_capture_on_commit_callbacks
):
    send(admin_client, incident, django_capture_on_commit_callbacks, {"audience": "all"}, 3)
    incident.notices.filter(user__username="bob").update(status=Notice.Status.FAILED)
    incident.notices.filter(user__username="carol").update(status=Notice.Status.PENDING)
    Incident.objects.create(subject="Draft notice", body="Not sent yet.")
    rows = {
        row["subject"]: (row["recipients"], row["sent"], row["due"], row["failed"])
        for row in changelist_rows(admin_client.get(CHANGELIST).content.decode())
    }
    assert rows == {
        "A laptop was stolen": ("3", "1", "1", "1"),
        "Draft notice": ("0", "0", "0", "0"),
    }


def test_a_sent_notice_is_read_only(
    admin_client, incident, people, django_capture_on_commit_callbacks
):
    send(admin_client, incident, django_capture_on_commit_callbacks, {"audience": "all"}, 3)
    response = admin_client.get(change_url(incident))
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert 'name="subject"' not in page
    assert 'name="body"' not in page
    assert "Choose recipients and send…" not in page
    shown = readonly_fields(page)
    assert shown["subject"] == "A laptop was stolen"
    assert shown["body"].startswith("On May 2 a laptop with customer names was stolen.")
    assert shown["audience"] == "every active user with a verified email address: 3 recipients"
    admin_client.post(change_url(incident), {"subject": "Nothing happened", "body": "Never mind."})
    incident.refresh_from_db()
    assert incident.subject == "A laptop was stolen"
    assert incident.body.startswith("On May 2")


def test_notices_cannot_be_deleted_in_the_admin(admin_client, incident):
    url = reverse("admin:policy_incident_delete", args=[incident.pk])
    assert admin_client.get(url).status_code == HTTPStatus.FORBIDDEN
    assert Incident.objects.filter(pk=incident.pk).exists()


# Who may send.


def test_staff_without_the_send_permission_are_refused(client, incident, people, mailoutbox):
    clerk = make_user("clerk", staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="policy",
            codename__in=["view_incident", "add_incident", "change_incident"],
        )
    )
    client.force_login(clerk)
    assert client.get(send_url(incident)).status_code == HTTPStatus.FORBIDDEN
    response = client.post(send_url(incident), {"audience": "all", "confirmed": "anything"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert client.get(reverse("admin:policy_incident_add")).status_code == HTTPStatus.FORBIDDEN
    page = client.get(change_url(incident)).content.decode()
    assert readonly_fields(page)["subject"] == "A laptop was stolen"  # they may read it
    assert "Choose recipients and send…" not in page
    assert not incident.notices.exists()
    assert mailoutbox == []


def test_staff_with_the_send_permission_can_send(
    client, incident, people, mailoutbox, django_capture_on_commit_callbacks
):
    officer = make_user("officer", staff=True)
    officer.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="policy", codename__in=["view_incident", "send_incident"]
        )
    )
    client.force_login(officer)
    assert "Choose recipients and send…" in client.get(change_url(incident)).content.decode()
    send(client, incident, django_capture_on_commit_callbacks, {"audience": "all"}, 3)
    incident.refresh_from_db()
    assert incident.sent_by == officer
    assert len(mailoutbox) == 3


def test_people_who_are_not_staff_are_sent_to_the_admin_login(client, incident, people):
    client.force_login(make_verified_user("visitor"))
    response = client.post(send_url(incident), {"audience": "all", "confirmed": "anything"})
    assert response.status_code == HTTPStatus.FOUND
    assert reverse("admin:login") in response.url
    assert not incident.notices.exists()


# Site bugs found while writing these tests.


def test_an_uploaded_list_with_a_byte_order_mark_reaches_everyone_on_it(
    admin_client, incident, people
):
    upload = SimpleUploadedFile("affected.csv", b"\xef\xbb\xbfalice\r\nbob\r\n")
    response = admin_client.post(send_url(incident), {"audience": "list", "upload": upload})
    assert response.context["count"] == 2


def uploaded_list(size: int) -> SimpleUploadedFile:
    """A list of exactly `size` bytes: bob on the first line, alice on the last.

    In between, unknown names of 21 bytes a line ("no-such-user-0000000\n"), the last one cut
    short to make the size.
    """
    head, tail = b"bob\n", b"\nalice\n"
    filler = b"".join(b"no-such-user-%07d\n" % n for n in range(size // 21 + 1))
    content = head + filler[: size - len(head) - len(tail)] + tail
    assert len(content) == size
    return SimpleUploadedFile("affected.csv", content)


def test_an_uploaded_list_up_to_1_mb_is_read_whole_and_every_name_counted(
    admin_client, incident, people
):
    upload = uploaded_list(IncidentAudienceForm.MAX_UPLOAD)  # 1,000,000 bytes: just allowed
    response = admin_client.post(send_url(incident), {"audience": "list", "upload": upload})
    form = response.context["form"]
    assert form.errors == {}
    # bob, 47,618 whole unknown names and one cut short (999,989 bytes), and alice.
    assert len(form.cleaned_data["identifiers"]) == 1 + 47_618 + 1 + 1
    assert response.context["count"] == 2  # alice, on the last line, was read too
    assert "This notice will be emailed to 2 people" in response.content.decode()


def test_an_uploaded_list_over_1_mb_is_refused_with_a_message(admin_client, incident, people):
    upload = uploaded_list(IncidentAudienceForm.MAX_UPLOAD + 1)
    response = admin_client.post(send_url(incident), {"audience": "list", "upload": upload})
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].non_field_errors() == [
        "The file is over 1 MB: split it, or paste it."
    ]
    assert "The file is over 1 MB: split it, or paste it." in response.content.decode()
    assert response.context["count"] is None
    assert 'name="confirmed"' not in response.content.decode()
    assert not incident.notices.exists()


def test_the_preview_shows_the_body_as_text_never_as_markup(admin_client, admin_user):
    incident = Incident.objects.create(
        subject="A laptop was stolen", body="<b>bold</b><img src=x onerror=alert(1)>",
        created_by=admin_user,
    )  # fmt: skip
    for url in (change_url(incident), send_url(incident)):
        page = admin_client.get(url).content.decode()
        assert "<img src=x" not in page and "<b>bold</b>" not in page
        assert "&lt;b&gt;bold&lt;/b&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_change_and_send_pages_show_the_email_as_people_get_it(
    admin_client, incident, settings
):
    """Its From, Reply-To and Subject, and the text part with the account page's link."""
    for url in (change_url(incident), send_url(incident)):
        page = admin_client.get(url).content.decode()
        assert f"<strong>From:</strong> {html.escape(settings.NOTICE_FROM_EMAIL)}" in page
        assert f"<strong>Reply-To:</strong> {settings.PRIVACY_CONTACT_EMAIL}" in page
        assert "<strong>Subject:</strong> [New Image MedSpa] A laptop was stolen" in page
        account = f"Your account, your answers and your preferences: {settings.SITE_URL}/accounts/"
        assert account in page, url
