"""Unsubscribe links: GET asks, an RFC 8058 one-click POST unsubscribes; topic mail is opt-in."""

import re
from http import HTTPStatus

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from accounts.models import PreferenceChange, Subscription, Topic
from accounts.services.people import (
    UNSUBSCRIBE_SALT,
    preference_set,
    unsubscribe_token,
    unsubscribe_token_read,
)
from tests.factories import link_in, make_verified_user, send_topic_mail

pytestmark = pytest.mark.django_db

MAIL_CLIENT = "ExampleMail-Unsubscriber/2.0"
ONE_CLICK = {
    "data": "List-Unsubscribe=One-Click",
    "content_type": "application/x-www-form-urlencoded",
}


def opt_in(user, topic: Topic) -> None:
    assert preference_set(
        user=user,
        topic=topic,
        opted_in=True,
        method="preferences",
        ip_address="192.0.2.1",
        user_agent="Browser/1.0",
    )


@pytest.fixture
def subscribed(alice, news):
    """Alice chose the news topic on her preferences page."""
    opt_in(alice, news)
    return alice


def url_for(user, topic: Topic) -> str:
    return reverse("account_unsubscribe", args=[unsubscribe_token(user=user, topic=topic)])


def one_click(path: str):
    """POST as a mail provider does (RFC 8058): no cookie, no CSRF token, CSRF checks on."""
    return Client(enforce_csrf_checks=True).post(
        path, **ONE_CLICK, headers={"user-agent": MAIL_CLIENT}
    )


def is_opted_in(user, topic: Topic) -> bool:
    return Subscription.objects.get(user=user, topic=topic).opted_in


def unsubscribes():
    return PreferenceChange.objects.filter(method="unsubscribe")


def tampered(token: str, index: int) -> str:
    replacement = "A" if token[index] != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


def test_the_token_names_the_person_and_the_topic(alice, news):
    assert unsubscribe_token_read(unsubscribe_token(user=alice, topic=news)) == (alice, news)


def test_get_asks_for_confirmation_without_signing_in(client, subscribed, news):
    url = url_for(subscribed, news)
    response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Unsubscribe from Monthly news?" in html
    assert f'<form method="post" action="{url}" class="form">' in html
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in html
    assert '<button type="submit" class="button">Unsubscribe</button>' in html


def test_get_and_head_change_nothing(client, subscribed, news):
    url = url_for(subscribed, news)
    client.get(url)
    client.head(url)
    assert is_opted_in(subscribed, news)
    assert PreferenceChange.objects.count() == 1  # only the opt-in
    assert not unsubscribes().exists()


def test_one_click_post_unsubscribes_at_once_despite_csrf_checks(subscribed, news):
    response = one_click(url_for(subscribed, news))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "You are unsubscribed" in html
    assert "You will get no more email about <strong>Monthly news</strong>." in html
    assert is_opted_in(subscribed, news) is False


def test_one_click_post_is_recorded_in_the_ledger(subscribed, news):
    one_click(url_for(subscribed, news))
    change = unsubscribes().get()
    assert change.user == subscribed
    assert change.topic == news
    assert change.opted_in is False
    assert change.method == PreferenceChange.Method.UNSUBSCRIBE
    assert change.ip_address == "127.0.0.1"
    assert change.user_agent == MAIL_CLIENT
    latest = PreferenceChange.objects.filter(user=subscribed, topic=news).first()
    assert latest == change  # the newest record says "out"


def test_the_confirm_button_unsubscribes(client, subscribed, news):
    url = url_for(subscribed, news)
    page = client.get(url).content.decode()
    action = re.search(r'<form method="post" action="([^"]+)"', page).group(1)
    response = client.post(action, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == HTTPStatus.OK
    assert is_opted_in(subscribed, news) is False
    assert unsubscribes().count() == 1


def test_a_second_post_is_harmless(subscribed, news):
    url = url_for(subscribed, news)
    first = one_click(url)
    second = one_click(url)
    assert first.status_code == second.status_code == HTTPStatus.OK
    assert "You are unsubscribed" in second.content.decode()
    assert is_opted_in(subscribed, news) is False
    assert unsubscribes().count() == 1


def test_the_link_unsubscribes_only_its_own_person_and_topic(subscribed, news, partners):
    bob = make_verified_user("bob")
    opt_in(subscribed, partners)
    opt_in(bob, news)
    one_click(url_for(subscribed, news))
    assert is_opted_in(subscribed, news) is False
    assert is_opted_in(subscribed, partners) is True
    assert is_opted_in(bob, news) is True
    assert list(unsubscribes().values_list("user__username", "topic__slug")) == [("alice", "news")]


def test_a_signed_in_visitor_unsubscribes_the_person_the_link_names(client, subscribed, news):
    bob = make_verified_user("bob")
    opt_in(bob, news)
    client.force_login(bob)
    client.post(url_for(subscribed, news), {"List-Unsubscribe": "One-Click"})
    assert is_opted_in(subscribed, news) is False
    assert is_opted_in(bob, news) is True


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_tampered_token_is_refused_and_changes_nothing(client, subscribed, news, where):
    token = unsubscribe_token(user=subscribed, topic=news)
    index = {"first": 0, "middle": len(token) // 2, "last": len(token) - 1}[where]
    url = reverse("account_unsubscribe", args=[tampered(token, index)])
    for response in (client.get(url), one_click(url)):
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "This unsubscribe link is not valid" in response.content.decode()
    assert is_opted_in(subscribed, news) is True
    assert not unsubscribes().exists()


def test_a_token_signed_with_another_salt_is_refused(client, subscribed, news):
    payload = {"u": subscribed.pk, "t": news.slug}
    token = signing.dumps(payload, salt="accounts.other", compress=True)
    assert signing.loads(token, salt="accounts.other") == payload  # well formed, wrong purpose
    url = reverse("account_unsubscribe", args=[token])
    assert client.get(url).status_code == HTTPStatus.BAD_REQUEST
    assert one_click(url).status_code == HTTPStatus.BAD_REQUEST
    assert is_opted_in(subscribed, news) is True
    assert not unsubscribes().exists()


def test_a_token_naming_an_unknown_topic_is_refused(subscribed, news):
    token = signing.dumps({"u": subscribed.pk, "t": "gone"}, salt=UNSUBSCRIBE_SALT, compress=True)
    response = one_click(reverse("account_unsubscribe", args=[token]))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert is_opted_in(subscribed, news) is True


def test_unsubscribing_someone_never_subscribed_records_nothing(alice, news):
    response = one_click(url_for(alice, news))
    assert response.status_code == HTTPStatus.OK
    assert not PreferenceChange.objects.exists()
    assert not Subscription.objects.filter(opted_in=True).exists()


def test_other_methods_are_not_allowed(client, subscribed, news):
    assert client.put(url_for(subscribed, news)).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert is_opted_in(subscribed, news) is True


# Topic mail: opt-in only, each message with a one-click unsubscribe.


def test_a_person_who_opted_in_gets_one_message_with_unsubscribe_headers(
    settings, subscribed, news, mailoutbox
):
    send_topic_mail(news, subject="April news", body="Hello.")
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "[New Image MedSpa] April news"
    assert message.body.startswith("Hello.\n")
    assert "You get this because you chose “Monthly news”." in message.body
    header = message.extra_headers["List-Unsubscribe"]
    token = re.fullmatch(
        rf"<{re.escape(settings.SITE_URL)}/accounts/unsubscribe/([^/>]+)/>", header
    )
    # The token carries the second it was made in, so it is read rather than remade here.
    assert unsubscribe_token_read(token[1]) == (subscribed, news)
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Unsubscribe: {header[1:-1]}" in message.body
    # The headers survive into the message as sent.
    sent = message.message()
    assert sent["List-Unsubscribe"] == header
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_link_in_the_header_unsubscribes_when_posted(subscribed, news, mailoutbox):
    send_topic_mail(news, subject="April news", body="Hello.")
    header = mailoutbox[0].extra_headers["List-Unsubscribe"]
    path = re.fullmatch(r"<https?://[^/>]+(/[^>]+)>", header).group(1)
    assert one_click(path).status_code == HTTPStatus.OK
    assert is_opted_in(subscribed, news) is False
    assert unsubscribes().count() == 1


def test_the_link_in_the_body_unsubscribes_when_posted(subscribed, news, mailoutbox):
    send_topic_mail(news, subject="April news", body="Hello.")
    path = link_in(mailoutbox[0], r"/accounts/unsubscribe/[^/\s]+/")
    assert one_click(path).status_code == HTTPStatus.OK
    assert is_opted_in(subscribed, news) is False


def test_a_person_who_never_opted_in_gets_nothing(alice, news, mailoutbox):
    send_topic_mail(news, subject="April news", body="Hello.")
    assert mailoutbox == []


def test_after_unsubscribing_a_person_gets_nothing(subscribed, news, mailoutbox):
    one_click(url_for(subscribed, news))
    send_topic_mail(news, subject="April news", body="Hello.")
    assert mailoutbox == []


def test_opting_in_to_one_topic_brings_no_mail_about_another(subscribed, partners, mailoutbox):
    send_topic_mail(partners, subject="Offers", body="Hello.")
    assert mailoutbox == []
