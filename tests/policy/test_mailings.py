"""Topic mail from the admin: written, previewed, counted, confirmed, sent once through notices.

Behind "Can send topic mail". The body is Markdown through the same sanitiser as the policy.
The confirmation is bound like a breach notice's. Only people still opted in when their copy
goes out receive it, each with one-click unsubscribe (RFC 8058), and the mail stays a record
of what went out, when, by whom and to how many.
"""

import re
from http import HTTPStatus

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import Topic
from accounts.services.people import preference_set
from policy.delivery.outbox import notices_deliver
from policy.models import Mailing, Notice
from tests.factories import make_user, make_verified_user
from tests.tables import changelist_rows

pytestmark = pytest.mark.django_db

ADD = reverse("admin:policy_mailing_add")
CHANGELIST = reverse("admin:policy_mailing_changelist")


def choose(user, topic, opted_in: bool = True) -> None:
    preference_set(
        user=user, topic=topic, opted_in=opted_in, method="preferences", ip_address=None,
        user_agent="",
    )  # fmt: skip


@pytest.fixture
def news(db):
    """A topic that alice and bob chose, carol chose and left, and dave never chose."""
    topic = Topic.objects.create(name="Monthly news", slug="news", description="Once a month.")
    people = {name: make_verified_user(name) for name in ("alice", "bob", "carol", "dave")}
    for name in ("alice", "bob", "carol"):
        choose(people[name], topic)
    choose(people["carol"], topic, False)
    return topic


def send_url(mailing) -> str:
    return reverse("admin:policy_mailing_send", args=[mailing.pk])


def change_url(mailing) -> str:
    return reverse("admin:policy_mailing_change", args=[mailing.pk])


def write(client, topic, *, subject="April news", body="## Spring\n\nHello *all*.") -> Mailing:
    response = client.post(
        ADD, {"list_key": f"topic:{topic.slug}", "subject": subject, "body": body}
    )
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    return Mailing.objects.get(subject=subject)


def confirmation(page: str) -> str:
    found = re.search(r'name="confirmed" value="([^"]+)"', page)
    return found.group(1) if found else ""


def send(client, mailing, capture):
    page = client.get(send_url(mailing)).content.decode()
    with capture(execute=True):
        return client.post(send_url(mailing), {"confirmed": confirmation(page)}, follow=True)


def test_staff_write_topic_mail_and_see_it_as_a_recipient_will(admin_client, news):
    mailing = write(admin_client, news, body="## Spring\n\nHello *all*. <script>x()</script>")
    page = admin_client.get(change_url(mailing)).content.decode()
    assert '<h2 id="spring">Spring</h2>' in page and "<em>all</em>" in page  # the HTML part
    assert "<script>x()" not in page  # neither in the HTML part nor in the text part
    assert "&lt;script&gt;x()&lt;/script&gt;" in page.split('class="mail-preview-text"')[1]
    assert "## Spring" in page.split('class="mail-preview-text"')[1]  # the text part
    assert "You get this because you chose “Monthly news”." in page
    assert f"<strong>Reply-To:</strong> {settings.PRIVACY_CONTACT_EMAIL}<br>" in page
    # Both parts link to the account page, as the mail does.
    account = f"{settings.SITE_URL}/accounts/"
    assert f'<a href="{account}">Your answers and preferences</a>' in page
    assert f"Your answers and preferences: {account}" in page.split("mail-preview-text")[1]
    assert "Count the recipients and send…" in page
    assert mailing.list_name == "Monthly news"


def test_the_send_page_counts_the_people_opted_in_now(admin_client, news, mailoutbox):
    mailing = write(admin_client, news)
    page = admin_client.get(send_url(mailing)).content.decode()
    assert "“April news” will be emailed to 2 people." in page
    assert confirmation(page)
    assert mailoutbox == [] and not Notice.objects.exists()


def test_sending_reaches_exactly_the_people_opted_in_once_with_one_click_unsubscribe(
    admin_client, admin_user, news, mailoutbox, django_capture_on_commit_callbacks
):
    mailing = write(admin_client, news)
    response = send(admin_client, mailing, django_capture_on_commit_callbacks)
    assert "Sending “April news” to 2 people." in response.content.decode()
    assert (
        "Sent to 2 people."
        in admin_client.get(change_url(mailing).replace("/change/", "/history/")).content.decode()
    )
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]
    message = mailoutbox[0]
    assert message.subject == "[New Image MedSpa] April news"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<https?://[^>]+/accounts/unsubscribe/[^/>]+/>",
                        message.extra_headers["List-Unsubscribe"])  # fmt: skip
    assert "<em>all</em>" in message.alternatives[0][0]
    mailing.refresh_from_db()
    assert (mailing.sent_by, mailing.audience) == (
        admin_user,
        "the people who chose “Monthly news”: 2 recipients",
    )
    assert notices_deliver().sent == 0  # nothing twice
    rows = changelist_rows(admin_client.get(CHANGELIST).content.decode())
    assert [(r["subject"], r["recipients"], r["sent"], r["due"], r["failed"]) for r in rows] == [
        ("April news", "2", "2", "0", "0")
    ]


def test_edited_words_or_a_new_subscriber_since_counting_ask_again(
    admin_client, news, mailoutbox, django_capture_on_commit_callbacks
):
    mailing = write(admin_client, news)
    shown = admin_client.get(send_url(mailing)).content.decode()
    Mailing.objects.filter(pk=mailing.pk).update(subject="Different words")
    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post(send_url(mailing), {"confirmed": confirmation(shown)})
    assert "The recipients are not the ones you confirmed" in page.content.decode()
    assert not Notice.objects.exists()

    shown = admin_client.get(send_url(mailing)).content.decode()
    choose(get_user_model().objects.get(username="dave"), news)
    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post(send_url(mailing), {"confirmed": confirmation(shown)})
    assert "will be emailed to 3 people." in page.content.decode()
    assert not Notice.objects.exists() and mailoutbox == []


def test_someone_who_leaves_the_list_before_their_copy_goes_out_gets_nothing(
    admin_client, news, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # no worker
    mailing = write(admin_client, news)
    send(admin_client, mailing, django_capture_on_commit_callbacks)
    bob = mailing.notices.get(user__username="bob").user
    choose(bob, news, False)  # unsubscribes before delivery runs

    report = notices_deliver()

    assert (report.sent, report.cancelled) == (1, 1)
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]
    assert mailing.notices.get(user=bob).status == "cancelled"


def test_sent_topic_mail_is_a_read_only_record_and_never_goes_twice(
    admin_client, news, mailoutbox, django_capture_on_commit_callbacks
):
    mailing = write(admin_client, news)
    send(admin_client, mailing, django_capture_on_commit_callbacks)
    page = admin_client.get(change_url(mailing)).content.decode()
    assert 'name="subject"' not in page and "Count the recipients and send…" not in page
    again = admin_client.get(send_url(mailing), follow=True).content.decode()
    assert "This mail was already sent." in again
    assert len(mailoutbox) == 2


def test_topic_mail_needs_its_own_permission(client, news):
    viewer = make_user("viewer", staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_mailing"))
    client.force_login(viewer)
    assert client.get(ADD).status_code == HTTPStatus.FORBIDDEN
    mailing = Mailing.objects.create(list_key="topic:news", subject="Hi", body="Hello.")
    assert client.get(send_url(mailing)).status_code == HTTPStatus.FORBIDDEN
    assert client.post(send_url(mailing), {"confirmed": "x"}).status_code == HTTPStatus.FORBIDDEN
    assert not Notice.objects.exists()
