"""Preferences: one switch per active topic, all off until turned on, every change in the ledger."""

from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import PreferenceChange, Subscription, Topic
from tests.factories import make_verified_user

pytestmark = pytest.mark.django_db

PREFERENCES = reverse("account_preferences")
BROWSER = "Mozilla/5.0 (Preferences test)"


@pytest.fixture
def retired(db):
    return Topic.objects.create(
        name="Retired newsletter",
        slug="retired",
        description="No longer sent.",
        shares_with_partners=False,
        is_active=False,
    )


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def save(client, *on: Topic):
    """Submit the form as a browser does: ticked boxes are sent, unticked ones are absent.

    The CSRF token is always part of the real form, so even "everything off" is not an empty
    body (the test client does not check the token's value).
    """
    data = {"csrfmiddlewaretoken": "placeholder"}
    data.update({f"topic_{topic.pk}": "on" for topic in on})
    return client.post(PREFERENCES, data, headers={"user-agent": BROWSER})


def test_the_page_needs_a_signed_in_person(client, news):
    response = client.get(PREFERENCES)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("account_login"))
    assert save(client, news).status_code == HTTPStatus.FOUND
    assert not Subscription.objects.exists()
    assert not PreferenceChange.objects.exists()


def test_the_page_lists_each_active_topic_as_a_checkbox(signed_in, news, partners, retired):
    response = signed_in.get(PREFERENCES)
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    for topic in (news, partners):
        assert f'<input type="checkbox" name="topic_{topic.pk}"' in html
        assert f'<label for="id_topic_{topic.pk}">{topic.name}</label>' in html
        assert topic.description in html
    assert html.index("Monthly news") < html.index("Partner offers")  # by position


def test_inactive_topics_are_not_offered(signed_in, news, retired):
    html = signed_in.get(PREFERENCES).content.decode()
    assert f'name="topic_{retired.pk}"' not in html
    assert "Retired newsletter" not in html
    assert html.count('type="checkbox"') == 1


def test_nothing_is_ticked_for_a_new_person(signed_in, news, partners):
    html = signed_in.get(PREFERENCES).content.decode()
    assert html.count('type="checkbox"') == 2
    assert "checked" not in html


def test_a_partner_topic_says_that_data_is_shared_with_partners(signed_in, news, partners):
    html = signed_in.get(PREFERENCES).content.decode()
    partner_help = f'<div class="field__help" id="id_topic_{partners.pk}_helptext">'
    news_help = f'<div class="field__help" id="id_topic_{news.pk}_helptext">'
    shared = " Turning this on shares your name and email with our partners."
    assert f"{partner_help}{partners.description}{shared}</div>" in html
    assert f"{news_help}{news.description}</div>" in html


def test_a_topic_description_is_shown_as_text_not_markup(signed_in):
    Topic.objects.create(
        name="Tips",
        slug="tips",
        description='Tips & tricks <img src=x onerror="alert(1)">',
        shares_with_partners=False,
        is_active=True,
    )
    html = signed_in.get(PREFERENCES).content.decode()
    assert "Tips &amp; tricks &lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "<img src=x" not in html


def test_without_active_topics_the_page_says_there_is_nothing_to_choose(signed_in, retired):
    html = signed_in.get(PREFERENCES).content.decode()
    assert "There is nothing to choose from at the moment." in html
    assert 'type="checkbox"' not in html


def test_turning_a_topic_on_records_who_what_how_and_from_where(signed_in, alice, news, partners):
    response = save(signed_in, partners)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == PREFERENCES
    change = PreferenceChange.objects.get()
    assert change.user == alice
    assert change.topic == partners
    assert change.opted_in is True
    assert change.method == PreferenceChange.Method.PREFERENCES == "preferences"
    assert change.ip_address == "127.0.0.1"
    assert change.user_agent == BROWSER
    assert change.subject_id is None
    assert Subscription.objects.get(user=alice, topic=partners).opted_in is True
    # The untouched topic gets a subscription row in its default state, and no ledger row.
    assert not Subscription.objects.filter(topic=news, opted_in=True).exists()


def test_turning_a_topic_off_again_records_a_second_change(signed_in, alice, news):
    save(signed_in, news)
    save(signed_in)
    first, second = PreferenceChange.objects.order_by("pk")
    assert (first.opted_in, second.opted_in) == (True, False)
    assert second.user == alice
    assert second.topic == news
    assert second.method == "preferences"
    assert second.ip_address == "127.0.0.1"
    assert second.user_agent == BROWSER
    subscription = Subscription.objects.get(user=alice, topic=news)
    assert subscription.opted_in is False
    assert subscription.updated_at >= first.changed_at


def test_the_page_shows_what_was_saved(signed_in, news, partners):
    response = save(signed_in, news)
    html = signed_in.get(response.url).content.decode()
    assert html.count("checked") == 1
    assert f'id="id_topic_{news.pk}" checked>' in html
    assert f'id="id_topic_{partners.pk}">' in html
    assert "Saved: 1 change." in html


def test_saving_says_how_many_changes_were_made(signed_in, news, partners):
    response = save(signed_in, news, partners)
    assert "Saved: 2 changes." in signed_in.get(response.url).content.decode()
    response = save(signed_in, news)
    assert "Saved: 1 change." in signed_in.get(response.url).content.decode()


def test_saving_without_a_change_records_nothing(signed_in, alice, news, partners):
    save(signed_in, news)
    before = list(Subscription.objects.values_list("topic", "opted_in", "updated_at"))
    response = save(signed_in, news)
    assert response.status_code == HTTPStatus.FOUND
    assert "Nothing changed." in signed_in.get(response.url).content.decode()
    assert PreferenceChange.objects.count() == 1
    assert list(Subscription.objects.values_list("topic", "opted_in", "updated_at")) == before


def test_saving_everything_off_as_a_new_person_records_nothing(signed_in, news, partners):
    save(signed_in)
    assert not PreferenceChange.objects.exists()
    assert not Subscription.objects.filter(opted_in=True).exists()


def test_after_many_saves_the_state_is_the_last_choice_and_the_ledger_every_change(
    signed_in, alice, news, partners
):
    # Seven saves of the news switch, two of them repeating the previous choice.
    choices = [True, True, False, True, False, False, True]
    for choice in choices:
        save(signed_in, *([news] if choice else []))
    assert Subscription.objects.get(user=alice, topic=news).opted_in is True
    ledger = PreferenceChange.objects.filter(user=alice, topic=news).order_by("changed_at", "pk")
    assert [change.opted_in for change in ledger] == [True, False, True, False, True]
    assert not PreferenceChange.objects.filter(topic=partners).exists()


def test_alternating_saves_record_one_row_each_ending_with_the_last(signed_in, alice, news):
    for n in range(7):
        save(signed_in, *([news] if n % 2 == 0 else []))
    ledger = list(PreferenceChange.objects.filter(user=alice).order_by("changed_at", "pk"))
    assert [change.opted_in for change in ledger] == [True, False, True, False, True, False, True]
    assert Subscription.objects.get(user=alice, topic=news).opted_in is ledger[-1].opted_in is True


def test_each_person_has_their_own_state(client, alice, news):
    bob = make_verified_user("bob")
    client.force_login(alice)
    save(client, news)
    client.force_login(bob)
    assert "checked" not in client.get(PREFERENCES).content.decode()
    save(client)
    assert Subscription.objects.get(user=alice, topic=news).opted_in is True
    assert list(PreferenceChange.objects.values_list("user__username", flat=True)) == ["alice"]


def test_an_inactive_topic_is_left_alone_by_a_save(signed_in, alice, news, retired):
    Subscription.objects.create(user=alice, topic=retired, opted_in=True)
    save(signed_in, news)
    assert Subscription.objects.get(user=alice, topic=retired).opted_in is True
    assert not PreferenceChange.objects.filter(topic=retired).exists()


def test_a_recorded_change_cannot_be_edited(signed_in, news):
    save(signed_in, news)
    change = PreferenceChange.objects.get()
    change.opted_in = False
    with pytest.raises(ValidationError):
        change.save()
    assert PreferenceChange.objects.get().opted_in is True


def test_a_recorded_change_cannot_be_deleted(signed_in, news):
    save(signed_in, news)
    change = PreferenceChange.objects.get()
    with pytest.raises(ValidationError):
        change.delete()
    with pytest.raises(ValidationError):
        PreferenceChange.objects.all().delete()
    with pytest.raises(ValidationError):
        PreferenceChange.objects.filter(topic=news).delete()
    assert PreferenceChange.objects.count() == 1


def test_a_topic_with_recorded_changes_cannot_be_deleted(signed_in, news):
    from django.db.models import ProtectedError

    save(signed_in, news)
    with pytest.raises(ProtectedError):
        news.delete()
    assert PreferenceChange.objects.filter(topic__slug="news").count() == 1
