"""Mail the site sends by itself: marked automated, from a named sender, with the right tense.

Every such message carries `Auto-Submitted: auto-generated` (RFC 3834), so out-of-office
replies and mail servers leave it alone. Account mail comes from DEFAULT_FROM_EMAIL; notices
and topic mail come from NOTICE_FROM_EMAIL (a mailbox nobody reads) with Reply-To set to the
privacy team. A notice's wording follows its version's effective time: "changes on" while it
is scheduled, "changed on" once it is in effect.
"""

from datetime import timedelta
from email.utils import parseaddr

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Topic
from accounts.services.people import preference_set
from policy.delivery.audience import Audience
from policy.delivery.outbox import notice_recipients, notices_deliver
from policy.models import Incident
from policy.services.incidents import incident_send
from policy.services.versions import version_publish
from tests.factories import (
    make_material_draft,
    make_verified_user,
    send_topic_mail,
    signup_data,
)

pytestmark = pytest.mark.django_db


def assert_automated(message, *, sender: str) -> None:
    headers = message.message()
    assert headers["Auto-Submitted"] == "auto-generated", message.subject
    assert parseaddr(headers["From"]) == ("New Image MedSpa", sender), message.subject


def test_account_mail_is_automated_and_from_the_site(client, mailoutbox, privacy):
    client.post(reverse("account_signup"), signup_data())
    client.post(reverse("account_reset_password"), {"email": "carol@example.com"})
    client.post(reverse("account_username_reminder"), {"email": "nobody@example.com"})
    assert len(mailoutbox) == 3
    for message in mailoutbox:
        assert_automated(message, sender="privacy@pamedspa.biz")


def test_contact_mail_to_the_team_is_automated_and_answers_the_sender(
    client, mailoutbox, privacy, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("policy:contact", args=["privacy"]),
            {"name": "Vera", "email": "vera@example.org", "subject": "Cookies?",
             "message": "Which ones?", "website": ""},
        )  # fmt: skip
    [message] = mailoutbox
    assert_automated(message, sender="privacy@pamedspa.biz")
    assert message.reply_to == ["vera@example.org"]


def notices(mailoutbox) -> list:
    return [m for m in mailoutbox if m.to == ["alice@example.com"]]


def test_notices_come_from_no_reply_and_answers_go_to_the_privacy_team(
    privacy, mailoutbox, django_capture_on_commit_callbacks
):
    make_verified_user("alice")
    with django_capture_on_commit_callbacks(execute=True):
        version_publish(version=make_material_draft(privacy, days=31), by=None)
    incident = Incident.objects.create(subject="A laptop was stolen", body="Change it.")
    shown = Audience.of("all", notice_recipients(None))
    with django_capture_on_commit_callbacks(execute=True):
        incident_send(
            incident=incident, users=None, by=None, criteria="all", description="everyone",
            confirmed=shown,
        )  # fmt: skip
    notices_deliver()
    sent = notices(mailoutbox)
    assert [m.subject for m in sent][1:] == ["[New Image MedSpa] A laptop was stolen"]
    for message in sent:
        assert_automated(message, sender="no-reply@127.0.0.1")
        assert message.reply_to == ["privacy@pamedspa.biz"]
        assert_links_to_the_account_page(message)


def assert_links_to_the_account_page(message) -> None:
    """Every notice says where a person sees and changes every answer they gave."""
    account = settings.SITE_URL + reverse("account_overview")
    html = message.alternatives[0][0]
    assert f" {account}\n" in message.body, message.subject
    assert f'<a href="{account}">' in html, message.subject


def test_topic_mail_comes_from_no_reply_with_one_click_unsubscribe(mailoutbox):
    alice = make_verified_user("alice")
    news = Topic.objects.create(name="News", slug="news", description="Monthly news.")
    preference_set(
        user=alice, topic=news, opted_in=True, method="preferences", ip_address=None,
        user_agent="",
    )  # fmt: skip
    send_topic_mail(news, subject="April news", body="Hello.")
    [message] = mailoutbox
    assert_automated(message, sender="no-reply@127.0.0.1")
    assert message.reply_to == ["privacy@pamedspa.biz"]
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert_links_to_the_account_page(message)


def test_a_scheduled_change_is_announced_in_the_future_tense(
    privacy, mailoutbox, django_capture_on_commit_callbacks
):
    make_verified_user("alice")
    effective = timezone.now() + timedelta(days=31)
    with django_capture_on_commit_callbacks(execute=True):
        version_publish(version=make_material_draft(privacy, days=31), by=None)
    [message] = notices(mailoutbox)
    day = date_format(timezone.localtime(effective), "F j, Y")
    html = message.alternatives[0][0]
    for text in (message.body, html):
        assert "We are changing the Privacy Policy of New Image MedSpa. " in text
        assert f"takes effect on {day}" in text
        assert "What changes" in text and "See exactly what changes" in text
        assert "changed" not in text and "took effect" not in text
    assert message.subject == f"[New Image MedSpa] Our privacy policy changes on {day}"


def test_a_change_in_effect_is_announced_in_the_past_tense(
    privacy, mailoutbox, django_capture_on_commit_callbacks
):
    make_verified_user("alice")
    draft = make_material_draft(privacy, days=0)
    with django_capture_on_commit_callbacks(execute=True):
        version = version_publish(version=draft, by=None, override_reason="A regulator asked.")
    [message] = notices(mailoutbox)
    day = date_format(timezone.localtime(version.effective_at), "F j, Y")
    html = message.alternatives[0][0]
    for text in (message.body, html):
        assert "We have changed the Privacy Policy of New Image MedSpa." in text
        assert f"took effect on {day}" in text
        assert "What changed" in text and "See exactly what changed" in text
        assert "We are changing" not in text and "takes effect" not in text
    assert message.subject == f"[New Image MedSpa] Our privacy policy changed on {day}"
