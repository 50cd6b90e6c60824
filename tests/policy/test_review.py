"""Reviewing a material change: the banner, the review page, the answers it records, the email.

A material version is published with one or more new uses of data. Everyone who last accepted
an older version sees a banner on every page until they review it; the review page shows what
changed since the version *they* accepted and asks about each new use, with nothing chosen in
advance. Each submission appends an Acceptance and one Choice per new use to the ledger.
"""

import html
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from policy.models import Acceptance, Choice, NewUse, PolicyVersion
from policy.services.ledger import acceptance_record
from policy.services.versions import version_draft_save, version_publish
from tests.factories import PASSWORD, link_in, make_published, make_verified_user

pytestmark = pytest.mark.django_db

REVIEW = "/privacy/review/"
OVERVIEW = reverse("account_overview")
BANNER = "Our privacy policy has changed."
PAGES = ["/", "/privacy/", OVERVIEW]
USER_AGENT = "ReviewTest/1.0 (test client)"

PARTNER_SECTION = (
    "\n\n## 7. Partner offers\n\nWe may share your email with partners if you allow it.\n"
)
PARTNER_SENTENCE = "We may share your email with partners if you allow it."
COOKIE_SENTENCE = "We keep a small cookie so that you stay signed in between visits."
SUMMARY = "We may share data with partners, if you allow it."


def publish_material(
    privacy,
    *,
    body: str | None = None,
    uses: tuple[str, ...] = ("Partner offers",),
    effective_at=None,
    override: bool = True,
) -> PolicyVersion:
    """Publish a material version with one new use per name in `uses`.

    By default it adds a "Partner offers" section to the newest published text and takes
    effect now, with a recorded override of the notice period.
    """
    if body is None:
        body = privacy.versions.latest_published().body + PARTNER_SECTION
    draft = version_draft_save(
        version=PolicyVersion(
            document=privacy,
            title="Privacy Policy",
            body=body,
            summary=SUMMARY,
            is_material=True,
            effective_at=effective_at,
        ),
        by=None,
    )
    for name in uses:
        NewUse.objects.create(version=draft, name=name, description=f"Description of {name}.")
    return version_publish(
        version=draft, by=None, override_reason="test: effective now" if override else ""
    )


def accepted(user, version: PolicyVersion, method: str = "signup") -> Acceptance:
    return acceptance_record(
        user=user, version=version, method=method, ip_address="127.0.0.1", user_agent="x"
    )


def text(response) -> str:
    """The page's HTML with entities decoded, so "Don't" reads as a person sees it."""
    return html.unescape(response.content.decode())


def banner_shown(client, path: str) -> bool:
    page = client.get(path, follow=True)
    assert page.status_code == HTTPStatus.OK, path
    content = page.content.decode()
    return BANNER in content and f'href="{REVIEW}"' in content


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def use_field(use: NewUse) -> str:
    return f"use_{use.pk}"


@pytest.fixture
def v1(privacy):
    return privacy.versions.get(number=1)


@pytest.fixture
def alice(v1):
    """A verified user who accepted version 1 at signup."""
    user = make_verified_user("alice")
    accepted(user, v1)
    return user


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def material(privacy, django_capture_on_commit_callbacks):
    """Version 2: material, in effect now, with the one new use "Partner offers"."""
    with django_capture_on_commit_callbacks(execute=True):
        return publish_material(privacy)


def partner_offers(version: PolicyVersion) -> NewUse:
    return version.new_uses.get(purpose="partner-offers")


# The banner


def test_banner_shows_on_every_page_once_a_material_version_is_in_effect(alice_client, material):
    assert material.is_current()
    for path in PAGES:
        assert banner_shown(alice_client, path), path


def test_banner_shows_while_a_material_version_is_only_scheduled(
    alice_client, privacy, django_capture_on_commit_callbacks
):
    effective = timezone.now() + timedelta(days=31)
    with django_capture_on_commit_callbacks(execute=True):
        version = publish_material(privacy, effective_at=effective, override=False)
    assert version.is_scheduled()
    day = date_format(timezone.localtime(effective), "F j, Y")
    for path in PAGES:
        page = alice_client.get(path, follow=True).content.decode()
        banner = page[page.index('class="banner banner--review"') :].split("</aside>")[0]
        assert f"Version {version.number} of our privacy policy takes effect on" in banner, path
        assert f">{day}</time>" in banner, path
        assert "Please review what changes" in banner
        assert "has changed" not in banner and "what changed" not in banner
        assert f'href="{REVIEW}"' in banner


def test_banner_appears_when_the_material_version_is_published(
    alice_client, privacy, django_capture_on_commit_callbacks
):
    assert not banner_shown(alice_client, "/")
    with django_capture_on_commit_callbacks(execute=True):
        publish_material(privacy)
    assert banner_shown(alice_client, "/")


def test_no_banner_for_a_user_who_accepted_the_new_version(client, alice, material):
    accepted(alice, material, method="review")
    client.force_login(alice)
    for path in PAGES:
        assert not banner_shown(client, path), path


def test_anonymous_visitors_never_see_the_review_banner(client, material):
    for path in PAGES:
        assert not banner_shown(client, path), path
    # They see the public notice of the change instead.
    assert "Our privacy policy changed on" in client.get("/").content.decode()


def test_a_non_material_version_does_not_ask_for_a_review(
    alice_client, privacy, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version = make_published(privacy, body=privacy.versions.get(number=1).body + "\n\nMore.")
    assert version.is_current() and not version.is_material
    for path in PAGES:
        assert not banner_shown(alice_client, path), path


def test_a_minor_version_after_an_accepted_material_one_needs_no_review(
    alice_client, alice, privacy, material, django_capture_on_commit_callbacks
):
    """The banner and the review page ask one question, so they always agree."""
    accepted(alice, material, method="review")
    with django_capture_on_commit_callbacks(execute=True):
        minor = make_published(privacy, body=material.body + "\n\nA minor clarification.")
    assert minor.is_current() and not minor.is_material

    for path in PAGES:
        assert not banner_shown(alice_client, path), path
    response = alice_client.get(REVIEW, follow=True)
    assert response.redirect_chain == [(OVERVIEW, HTTPStatus.FOUND)]
    assert "You are up to date: you have already reviewed the current policy." in text(response)
    assert not Acceptance.objects.filter(user=alice, version=minor).exists()


def test_a_review_due_from_a_material_version_accepts_the_newest_one(
    alice_client, alice, privacy, material, django_capture_on_commit_callbacks
):
    """Someone who missed a material v2 and then a minor v3 reviews once, and accepts v3."""
    with django_capture_on_commit_callbacks(execute=True):
        minor = make_published(privacy, body=material.body + "\n\nA minor clarification.")
    assert banner_shown(alice_client, "/")
    page = alice_client.get(REVIEW)
    assert page.status_code == HTTPStatus.OK
    assert "<legend>Partner offers</legend>" in text(page)

    review_post(alice_client, minor, {partner_offers(material): "allow"})

    assert Acceptance.objects.get(user=alice, method="review").version == minor
    assert Choice.objects.get(user=alice).allowed
    assert not banner_shown(alice_client, "/")
    assert alice_client.get(REVIEW).status_code == HTTPStatus.FOUND


# Logging in to review


def test_review_page_asks_a_logged_out_visitor_to_log_in_and_keeps_the_link(client, alice):
    response = client.get(REVIEW + "?via=email")
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("account_login") + "?next=" + quote(REVIEW + "?via=email")
    assert response.url == "/accounts/login/?next=/privacy/review/%3Fvia%3Demail"


def test_logging_in_from_the_review_link_lands_on_the_review_page(client, alice, material):
    login_url = client.get(REVIEW + "?via=email").url
    response = client.post(
        login_url, {"login": "alice", "password": PASSWORD, "next": REVIEW + "?via=email"}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == REVIEW + "?via=email"
    page = client.get(response.url)
    assert page.status_code == HTTPStatus.OK
    assert "Review the changes to our privacy policy" in text(page)
    assert 'name="via" value="email"' in page.content.decode()


# What the review page shows


@pytest.fixture
def three_versions(privacy, v1, django_capture_on_commit_callbacks):
    """v2 adds a cookie section (not material); v3 adds partner offers and asks about them."""
    with django_capture_on_commit_callbacks(execute=True):
        v2 = make_published(
            privacy,
            body=v1.body + f"\n\n## 7. Cookies\n\n{COOKIE_SENTENCE}\n",
            summary="Explained our sign-in cookie.",
        )
        v3 = publish_material(
            privacy, body=v2.body + f"\n\n## 8. Partner offers\n\n{PARTNER_SENTENCE}\n"
        )
    assert (v2.number, v2.is_material, v3.number, v3.is_material) == (2, False, 3, True)
    return v1, v2, v3


def test_review_compares_with_the_version_the_user_last_accepted(client, three_versions):
    v1, v2, _ = three_versions
    bob = make_verified_user("bob")
    accepted(bob, v1)
    accepted(bob, v2, method="review")
    client.force_login(bob)

    content = client.get(REVIEW).content.decode()

    assert f"<ins>{PARTNER_SENTENCE}</ins>" in content
    assert f"<ins>{COOKIE_SENTENCE}</ins>" not in content
    assert "You last accepted" in content and ">version 2</a>" in content


def test_review_shows_every_change_since_an_older_acceptance(alice_client, three_versions):
    content = alice_client.get(REVIEW).content.decode()

    assert f"<ins>{PARTNER_SENTENCE}</ins>" in content
    assert f"<ins>{COOKIE_SENTENCE}</ins>" in content
    assert ">version 1</a>" in content


def test_review_lists_the_summary_of_every_version_it_covers_with_its_date(
    alice_client, three_versions
):
    _, v2, v3 = three_versions
    page = " ".join(text(alice_client.get(REVIEW)).split())
    day = date_format(timezone.localtime(v2.effective_at), "F j, Y")
    summaries = page[page.index("Summary of changes") :]
    assert f"Version 2</a>, took effect on {day}</h3> <p>Explained our sign-in cookie.</p>" in (
        summaries
    )
    assert "Version 3</a>, took effect on" in summaries and v3.summary in summaries
    assert "Here is everything that changed since then, up to" in page


def test_someone_who_accepted_nothing_is_told_everything_is_new(client, material):
    client.force_login(make_verified_user("newcomer"))
    page = " ".join(text(client.get(REVIEW)).split())
    assert "You have not accepted a version yet, so all of" in page
    assert "since the version you accepted" not in page


def test_review_shows_the_summary_and_unanswered_choices(alice_client, material):
    use = partner_offers(material)
    response = alice_client.get(REVIEW)

    assert response.status_code == HTTPStatus.OK
    page = text(response)
    assert SUMMARY in page
    assert "<legend>Partner offers</legend>" in page
    assert "Description of Partner offers." in page
    assert f'type="radio" name="{use_field(use)}" value="allow"' in page
    assert f'type="radio" name="{use_field(use)}" value="deny"' in page
    assert "> Allow</label>" in page
    assert "> Don't allow</label>" in page
    assert "checked" not in page
    assert f'name="version" value="{material.number}"' in page


# Answering


def review_post(client, version, answers: dict, *, via: str = "", number=None):
    data = {"version": number or version.number, "via": via}
    data.update({use_field(use): answer for use, answer in answers.items()})
    return client.post(REVIEW, data, headers={"user-agent": USER_AGENT})


def test_accepting_with_allow_records_the_acceptance_and_the_choice(alice_client, alice, material):
    use = partner_offers(material)
    response = review_post(alice_client, material, {use: "allow"})

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == OVERVIEW
    assert messages_of(response) == [
        f"Thank you. We have recorded your answers for version {material.number}."
    ]

    acceptance = Acceptance.objects.get(user=alice, method="review")
    assert acceptance.version == material
    assert acceptance.version_sha256 == material.sha256
    assert acceptance.ip_address == "127.0.0.1"
    assert acceptance.user_agent == USER_AGENT

    choice = Choice.objects.get()
    assert choice.user == alice
    assert choice.allowed is True
    assert choice.purpose == "partner-offers"
    assert choice.new_use == use
    assert choice.version == material
    assert choice.version_sha256 == material.sha256
    assert choice.method == "review"
    assert choice.ip_address == "127.0.0.1"
    assert choice.user_agent == USER_AGENT
    assert choice.chosen_at == acceptance.accepted_at

    assert Choice.objects.allows(alice, "partner-offers") is True
    assert not banner_shown(alice_client, "/")


def test_declining_is_recorded_and_the_account_keeps_working(client, alice, material):
    client.force_login(alice)
    review_post(client, material, {partner_offers(material): "deny"})

    assert Choice.objects.allows(alice, "partner-offers") is False
    assert Choice.objects.get().allowed is False
    assert Acceptance.objects.filter(user=alice, version=material).count() == 1

    client.logout()
    response = client.post(reverse("account_login"), {"login": "alice", "password": PASSWORD})
    assert response.url == OVERVIEW
    assert client.get(OVERVIEW).status_code == HTTPStatus.OK
    for path in PAGES:
        assert not banner_shown(client, path), path


def test_mixed_answers_are_recorded_per_use(alice_client, alice, privacy):
    version = publish_material(privacy, uses=("Partner offers", "Research studies"))
    offers, research = version.new_uses.order_by("pk")
    bob = make_verified_user("bob")  # an unrelated user, who never answered
    review_post(alice_client, version, {offers: "allow", research: "deny"})

    answers = dict(Choice.objects.filter(user=alice).values_list("purpose", "allowed"))
    assert answers == {"partner-offers": True, "research-studies": False}
    assert list(Choice.objects.users_allowing("partner-offers")) == [alice]
    assert list(Choice.objects.users_allowing("research-studies")) == []
    assert Choice.objects.allows(bob, "partner-offers") is False


def test_submitting_without_an_answer_shows_an_error_and_records_nothing(
    alice_client, alice, material
):
    assert Choice.objects.allows(alice, "partner-offers") is False

    response = review_post(alice_client, material, {})

    assert response.status_code == HTTPStatus.OK
    assert "Choose “Allow” or “Don't allow” for Partner offers." in text(response)
    assert not Acceptance.objects.filter(method__in=["review", "email_link"]).exists()
    assert not Choice.objects.exists()
    assert Choice.objects.allows(alice, "partner-offers") is False
    assert banner_shown(alice_client, "/")


def test_a_review_from_the_email_link_is_recorded_as_such(alice_client, alice, material):
    page = alice_client.get(REVIEW + "?via=email").content.decode()
    assert 'name="via" value="email"' in page

    review_post(alice_client, material, {partner_offers(material): "allow"}, via="email")

    assert Acceptance.objects.get(user=alice, version=material).method == "email_link"
    assert Choice.objects.get().method == "email_link"


def test_a_review_without_the_email_link_is_recorded_as_review(alice_client, alice, material):
    page = alice_client.get(REVIEW).content.decode()
    assert 'name="via" id="id_via"' in page

    review_post(alice_client, material, {partner_offers(material): "deny"})

    assert Acceptance.objects.get(user=alice, version=material).method == "review"


def test_a_stale_version_number_is_refused(alice_client, alice, privacy, material):
    use = partner_offers(material)
    make_published(privacy, body=material.body + "\n\nA later clarification.")

    response = review_post(alice_client, material, {use: "allow"})

    assert response.status_code == HTTPStatus.OK
    assert (
        "The policy changed again while you were reading. Please review the new version."
        in text(response)
    )
    assert not Acceptance.objects.filter(user=alice, method="review").exists()
    assert not Choice.objects.exists()


def test_a_user_who_is_up_to_date_is_sent_to_the_account_page(alice_client, alice, material):
    accepted(alice, material, method="review")

    response = alice_client.get(REVIEW, follow=True)

    assert response.redirect_chain == [(OVERVIEW, HTTPStatus.FOUND)]
    assert "You are up to date: you have already reviewed the current policy." in text(response)
    assert Acceptance.objects.filter(user=alice).count() == 2


def test_account_overview_lists_acceptances_and_choices(alice_client, material):
    review_post(alice_client, material, {partner_offers(material): "deny"})

    page = text(alice_client.get(OVERVIEW))

    assert "Privacy Policy, version 1</a>" in page
    assert f"Privacy Policy, version {material.number}</a>" in page
    assert "<td>At signup</td>" in page
    assert "<td>On the review page</td>" in page
    assert "<td>Partner offers</td>" in page
    assert "<td>Don't allow</td>" in page
    assert "You have not been asked about any new use of your data." not in page


# The notice email


def test_publishing_emails_a_notice_with_the_summary_and_links(
    alice, privacy, mailoutbox, django_capture_on_commit_callbacks
):
    effective = timezone.now() + timedelta(days=31)
    with django_capture_on_commit_callbacks(execute=True):
        version = publish_material(privacy, effective_at=effective, override=False)

    assert [message.to for message in mailoutbox] == [["alice@example.com"]]
    message = mailoutbox[0]
    day = date_format(timezone.localtime(effective), "F j, Y")
    assert message.subject == f"[New Image MedSpa] Our privacy policy changes on {day}"
    assert SUMMARY in message.body
    assert day in message.body
    assert "Partner offers: Description of Partner offers." in message.body
    assert link_in(message, r"/privacy/versions/1/compare/2/") == "/privacy/versions/1/compare/2/"
    assert link_in(message, r"/privacy/review/\?via=email") == "/privacy/review/?via=email"

    [(html_part, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert SUMMARY in html_part
    assert day in html_part
    assert "/privacy/versions/1/compare/2/" in html_part
    assert "/privacy/review/?via=email" in html_part
    assert version.notices.get().status == "sent"
