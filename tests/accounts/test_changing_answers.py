"""Changing or withdrawing an answer about a new use of data, from the account page.

Withdrawing must be as easy as giving (GDPR Art. 7(3)): `/accounts/` lists every use the person
was asked about with the answer that counts now and one button that flips it. Each change is a
new ledger record (method "account"), and `Choice.objects.allows()` follows the latest answer.
"""

from http import HTTPStatus

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from policy.models import Choice, PolicyVersion
from policy.services.ledger import review_submit
from policy.services.versions import version_publish
from tests.factories import login, make_material_draft, make_verified_user

pytestmark = pytest.mark.django_db

OVERVIEW = reverse("account_overview")
CHANGE = reverse("account_change_choice")


@pytest.fixture
def asked(privacy):
    """A published material version 2 asking about two new uses of data."""
    draft = make_material_draft(
        privacy,
        days=0,
        new_uses={
            "Partner offers": "Share your email with selected partners.",
            "Research": "Use your visits, without your name, in clinical research.",
        },
    )
    return version_publish(version=draft, by=None, override_reason="test: effective now")


def answer(user, version: PolicyVersion, **answers: bool):
    """The person reviews `version` and answers, by purpose, e.g. partner_offers=True."""
    uses = {use.purpose.replace("-", "_"): use for use in version.new_uses.all()}
    review_submit(
        user=user,
        version=version,
        answers={uses[name]: allowed for name, allowed in answers.items()},
        method="review",
        ip_address="127.0.0.1",
        user_agent="test",
    )


def flip(client, purpose: str, to: str):
    return client.post(
        CHANGE,
        {"purpose": purpose, "answer": to},
        REMOTE_ADDR="203.0.113.9",
        HTTP_USER_AGENT="Withdraw/1.0",
    )


def said(response) -> str:
    """The message the change left (the sign-in message may still be queued before it)."""
    return [str(message) for message in get_messages(response.wsgi_request)][-1]


def test_the_account_page_lists_each_use_asked_about_with_the_answer_and_one_button(client, asked):
    alice = make_verified_user("alice")
    answer(alice, asked, partner_offers=True, research=False)
    login(client)

    page = client.get(OVERVIEW).content.decode()

    answers = page.split('id="answers-title"')[1].split("</section>")[0]
    assert answers.count("<tr>") == 3  # the header row and one row per use
    partner_row = answers.split("Partner offers")[1].split("</tr>")[0]
    assert '<td data-label="Your answer now">Allow</td>' in partner_row
    assert 'name="answer" value="deny"' in partner_row
    assert "Withdraw" in partner_row
    research_row = answers.split("<strong>Research</strong>")[1].split("</tr>")[0]
    assert '<td data-label="Your answer now">Don\'t allow</td>' in research_row
    assert 'name="answer" value="allow"' in research_row
    assert research_row.count('type="submit"') == 1


def test_withdrawing_adds_a_ledger_record_and_the_use_is_refused_from_then_on(client, asked):
    alice = make_verified_user("alice")
    answer(alice, asked, partner_offers=True, research=False)
    assert Choice.objects.allows(alice, "partner-offers")
    login(client)

    response = flip(client, "partner-offers", "deny")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == OVERVIEW + "#answers-title"
    assert (
        said(response)
        == "Saved: you do not allow “Partner offers”. We have stopped using your data this way."
    )
    assert not Choice.objects.allows(alice, "partner-offers")
    latest = Choice.objects.filter(user=alice, purpose="partner-offers").first()
    assert (latest.allowed, latest.method) == (False, "account")
    assert (latest.ip_address, latest.user_agent) == ("203.0.113.9", "Withdraw/1.0")
    assert latest.version == asked
    assert latest.version_sha256 == asked.sha256
    assert Choice.objects.filter(user=alice).count() == 3  # the two answers stay as evidence
    assert Choice.objects.allows(alice, "research") is False  # the other answer is untouched

    # And back again: allowing is one button too.
    response = flip(client, "partner-offers", "allow")
    assert said(response) == "Saved: you allow “Partner offers”."
    assert Choice.objects.allows(alice, "partner-offers")
    assert Choice.objects.filter(user=alice, method="account").count() == 2


def test_the_page_shows_the_new_answer_after_a_change(client, asked):
    alice = make_verified_user("alice")
    answer(alice, asked, partner_offers=True, research=True)
    login(client)
    flip(client, "partner-offers", "deny")

    answers = client.get(OVERVIEW).content.decode().split('id="answers-title"')[1]
    partner_row = answers.split("Partner offers")[1].split("</tr>")[0]
    assert '<td data-label="Your answer now">Don\'t allow</td>' in partner_row
    assert 'name="answer" value="allow"' in partner_row
    history = answers.split('id="choices-title"')[1]
    assert "On their account page" in history


def test_the_same_answer_again_records_nothing(client, asked):
    alice = make_verified_user("alice")
    answer(alice, asked, partner_offers=False, research=False)
    login(client)

    response = flip(client, "partner-offers", "deny")

    assert said(response) == "Nothing changed: that was already your answer."
    assert Choice.objects.filter(user=alice).count() == 2


def test_a_use_the_person_was_never_asked_about_cannot_be_answered_here(client, asked):
    make_verified_user("alice")  # accepted nothing, answered nothing
    login(client)

    response = flip(client, "partner-offers", "allow")

    assert said(response) == "You have not been asked about this use of your data."
    assert not Choice.objects.exists()


def test_one_persons_change_leaves_anothers_answer_alone(client, asked):
    alice, bob = make_verified_user("alice"), make_verified_user("bob")
    answer(alice, asked, partner_offers=True, research=True)
    answer(bob, asked, partner_offers=True, research=True)
    login(client)

    flip(client, "partner-offers", "deny")

    assert not Choice.objects.allows(alice, "partner-offers")
    assert Choice.objects.allows(bob, "partner-offers")


@pytest.mark.parametrize(
    "data", [{}, {"purpose": "partner-offers"}, {"purpose": "x y", "answer": "allow"},
             {"purpose": "partner-offers", "answer": "maybe"}],
)  # fmt: skip
def test_an_unreadable_answer_changes_nothing_and_says_so(client, asked, data):
    alice = make_verified_user("alice")
    answer(alice, asked, partner_offers=True, research=True)
    login(client)

    response = client.post(CHANGE, data)

    assert response.status_code == HTTPStatus.FOUND
    assert said(response) == "That answer could not be read. Please try again."
    assert Choice.objects.filter(user=alice).count() == 2


def test_changing_needs_a_signed_in_post_with_a_csrf_token(asked):
    alice = make_verified_user("alice")
    answer(alice, asked, partner_offers=True, research=True)

    anonymous = Client()
    response = anonymous.post(CHANGE, {"purpose": "partner-offers", "answer": "deny"})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("account_login"))

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    response = strict.post(CHANGE, {"purpose": "partner-offers", "answer": "deny"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert strict.get(CHANGE).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert Choice.objects.allows(alice, "partner-offers")


def test_a_change_is_recorded_under_the_version_in_force_now(client, asked, privacy):
    alice = make_verified_user("alice")
    answer(alice, asked, partner_offers=True, research=True)
    later = version_publish(
        version=make_material_draft(privacy, days=0, new_uses={}),
        by=None,
        override_reason="test: effective now",
    )
    login(client)

    flip(client, "research", "deny")

    latest = Choice.objects.filter(user=alice, purpose="research").first()
    assert latest.version == later
    assert latest.new_use.version == asked  # still the use they were asked about


def test_an_answer_about_a_scheduled_version_stays_under_that_version(client, privacy):
    scheduled = version_publish(
        version=make_material_draft(privacy, days=31, new_uses={"Research": "Research."}),
        by=None,
    )
    alice = make_verified_user("alice")
    answer(alice, scheduled, research=True)
    login(client)

    flip(client, "research", "deny")

    latest = Choice.objects.filter(user=alice, purpose="research").first()
    assert (latest.allowed, latest.version) == (False, scheduled)


def test_the_account_page_costs_the_same_queries_however_many_answers(client, asked):
    alice = make_verified_user("alice")
    answer(alice, asked, partner_offers=True, research=False)
    login(client)
    client.get(OVERVIEW)  # warm the per-process caches

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(OVERVIEW).status_code == HTTPStatus.OK
        return len(captured)

    few = queries()
    for allowed in (True, False, True, False):
        answer(alice, asked, partner_offers=allowed, research=not allowed)
    flip(client, "research", "deny")
    client.get(OVERVIEW)  # shows, and so clears, the message the change left

    assert queries() == few <= 13
