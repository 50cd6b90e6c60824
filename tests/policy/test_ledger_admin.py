"""Admin for the ledger and material changes: CSV export, notices, new uses and short notice."""

import csv
import html
import io
import re
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from policy.models import INTERRUPTED, Acceptance, Choice, Incident, Notice, PolicyVersion
from policy.services.ledger import acceptance_record, review_submit
from policy.services.versions import version_copy_to_draft, version_publish
from tests.factories import (
    make_draft,
    make_material_draft,
    make_published,
    make_user,
    make_verified_user,
)
from tests.tables import changelist_rows

pytestmark = pytest.mark.django_db

# The management form of the "new uses" inline, as the admin page submits it.
NO_NEW_USES = {"new_uses-TOTAL_FORMS": "0", "new_uses-INITIAL_FORMS": "0"}

ACCEPTANCE_COLUMNS = [
    "accepted_at",
    "user__username",
    "subject_id",
    "version__document__slug",
    "version__number",
    "version_sha256",
    "method",
    "ip_address",
    "user_agent",
]
CHOICE_COLUMNS = [
    "chosen_at",
    "user__username",
    "subject_id",
    "version__document__slug",
    "version__number",
    "version_sha256",
    "purpose",
    "allowed",
    "method",
    "ip_address",
    "user_agent",
]


# The new use of data the material drafts here ask about.
PARTNER_OFFERS = {"Partner offers": "Offers from partner clinics near you."}


@pytest.fixture
def material(privacy, people, django_capture_on_commit_callbacks, mailoutbox):
    """Version 2: material, published with 31 days' notice; its notices sent to all three people."""
    draft = make_material_draft(privacy, days=31, new_uses=PARTNER_OFFERS)
    with django_capture_on_commit_callbacks(execute=True):
        version = version_publish(version=draft, by=None)
    assert len(mailoutbox) == 3
    return version


@pytest.fixture
def choices(material, people):
    """Alice allows the new use, Bob does not; Carol has not answered."""
    alice, bob, _carol = people
    use = material.new_uses.get()
    for user, allowed, address in [(alice, True, "192.0.2.1"), (bob, False, "192.0.2.2")]:
        review_submit(
            user=user,
            version=material,
            answers={use: allowed},
            method="review",
            ip_address=address,
            user_agent="Browser/1.0",
        )
    return Choice.objects.get(user=alice), Choice.objects.get(user=bob)


def export(admin_client, model: str, records) -> tuple:
    """POST the export_csv action for `records`; return the response and its parsed rows."""
    response = admin_client.post(
        reverse(f"admin:policy_{model}_changelist"),
        {"action": "export_csv", "_selected_action": [r.pk for r in records]},
    )
    assert response.status_code == HTTPStatus.OK
    content = b"".join(response.streaming_content).decode()
    return response, list(csv.reader(io.StringIO(content)))


def publish_url(version: PolicyVersion) -> str:
    return reverse("admin:policy_policyversion_publish", args=[version.pk])


def change_url(version: PolicyVersion) -> str:
    return reverse("admin:policy_policyversion_change", args=[version.pk])


def test_choice_changelist_lists_each_answer(admin_client, choices):
    response = admin_client.get(reverse("admin:policy_choice_changelist"))
    assert response.status_code == HTTPStatus.OK
    rows = [
        (row["user"], row["purpose"], row["allowed"], row["version"], row["method"])
        for row in changelist_rows(response.content.decode())
    ]
    assert sorted(rows) == [
        ("alice", "partner-offers", "True", "Privacy Policy v2", "on the review page"),
        ("bob", "partner-offers", "False", "Privacy Policy v2", "on the review page"),
    ]


def test_notice_changelist_tells_policy_changes_from_breaches(admin_client, material, people):
    incident = Incident.objects.create(subject="A laptop was stolen", body="Change your password.")
    Notice.objects.create(incident=incident, user=people[0])
    url = reverse("admin:policy_notice_changelist")

    everything = admin_client.get(url).content.decode()
    breaches = admin_client.get(url, {"about": "incident"}).content.decode()
    changes = admin_client.get(url, {"about": "version"}).content.decode()

    assert "Select notice to change" in everything  # not a "policy change notice"
    assert everything.count("A laptop was stolen (breach)") == 1
    assert everything.count("Privacy Policy v2 (policy change)") == len(people)
    assert breaches.count("A laptop was stolen (breach)") == 1
    assert "(policy change)" not in breaches
    assert changes.count("Privacy Policy v2 (policy change)") == len(people)
    assert "(breach)" not in changes


def test_notice_changelist_lists_each_notice_with_its_status(admin_client, material):
    response = admin_client.get(reverse("admin:policy_notice_changelist"))
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "alice@example.com" in page
    assert "bob@example.com" in page
    assert "carol@example.com" in page
    assert len(re.findall(r'<td class="field-status">sent</td>', page)) == 3


def test_acceptances_export_as_csv_one_row_per_selected_record(admin_client, privacy, people):
    alice, bob, _carol = people
    seed = privacy.versions.get(number=1)
    records = [
        acceptance_record(
            user=user, version=seed, method="signup", ip_address=ip, user_agent="Browser/1.0"
        )
        for user, ip in [(alice, "192.0.2.1"), (bob, "192.0.2.2"), (alice, "192.0.2.3")]
    ]
    response, rows = export(admin_client, "acceptance", records[:2])
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="acceptances.csv"'
    assert rows[0] == ACCEPTANCE_COLUMNS
    assert sorted(row[1:] for row in rows[1:]) == [
        ["alice", "", "privacy", "1", seed.sha256, "signup", "192.0.2.1", "Browser/1.0"],
        ["bob", "", "privacy", "1", seed.sha256, "signup", "192.0.2.2", "Browser/1.0"],
    ]
    assert {row[0] for row in rows[1:]} == {str(r.accepted_at) for r in records[:2]}


def test_choices_export_as_csv_one_row_per_selected_record(admin_client, material, choices):
    alice_choice, _bob_choice = choices
    response, rows = export(admin_client, "choice", [alice_choice])
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="choices.csv"'
    assert rows == [
        CHOICE_COLUMNS,
        [
            str(alice_choice.chosen_at),
            "alice",
            "",
            "privacy",
            "2",
            material.sha256,
            "partner-offers",
            "True",
            "review",
            "192.0.2.1",
            "Browser/1.0",
        ],
    ]


def test_choices_export_of_both_records_says_who_allowed_what(admin_client, choices):
    _response, rows = export(admin_client, "choice", choices)
    assert len(rows) == 3
    allowed = {row[1]: row[7] for row in rows[1:]}
    assert allowed == {"alice": "True", "bob": "False"}


def test_export_leaves_the_ledger_unchanged(admin_client, choices):
    export(admin_client, "choice", choices)
    assert Choice.objects.count() == 2
    assert Acceptance.objects.count() == 2


@pytest.fixture
def three_failed(material):
    """Dave's and Erin's notices were interrupted (they may have arrived); Fay's was refused."""
    return [
        Notice.objects.create(
            version=material,
            user=make_verified_user(name),
            status=Notice.Status.FAILED,
            last_error=error,
        )  # fmt: skip
        for name, error in [("dave", INTERRUPTED), ("erin", INTERRUPTED), ("fay", "550 no")]
    ]


def test_the_notice_list_tells_interrupted_notices_from_refused_ones(admin_client, three_failed):
    changelist = reverse("admin:policy_notice_changelist")
    interrupted = admin_client.get(changelist, {"failure": "interrupted"}).context["cl"]
    assert {n.user.username for n in interrupted.result_list} == {"dave", "erin"}
    not_sent = admin_client.get(changelist, {"failure": "not-sent"}).context["cl"]
    assert {n.user.username for n in not_sent.result_list} == {"fay"}


def requeue(admin_client, notices, **extra):
    return admin_client.post(
        reverse("admin:policy_notice_changelist"),
        {"action": "requeue", "_selected_action": [n.pk for n in notices], **extra},
        follow=True,
    )


def test_sending_interrupted_notices_again_first_names_who_may_get_two(admin_client, three_failed):
    page = html.unescape(requeue(admin_client, three_failed).content.decode())

    assert "You chose 3 failed notices to send again." in page
    assert "2 of them were interrupted while being sent" in page
    assert "dave (dave@example.com)" in page and "erin (erin@example.com)" in page
    assert "fay (" not in page
    assert 'value="Send only the 1 that cannot have arrived"' in page
    chosen = Notice.objects.filter(pk__in=[n.pk for n in three_failed])
    assert set(chosen.values_list("status", flat=True)) == {"failed"}  # nothing was sent yet

    done = requeue(admin_client, three_failed, confirmed="yes").content.decode()

    assert (
        "3 failed notices will be sent again. 2 of them were interrupted while sending, so "
        "those people may get the notice twice."
    ) in done
    assert set(chosen.values_list("status", flat=True)) == {"pending"}


def test_with_only_interrupted_notices_chosen_there_is_nothing_safe_to_offer(
    admin_client, three_failed
):
    page = requeue(admin_client, three_failed[:2]).content.decode()
    assert "You chose 2 failed notices to send again." in page
    assert "Send only the" not in page


def test_the_office_can_send_again_only_what_cannot_have_arrived(admin_client, three_failed):
    response = requeue(admin_client, three_failed, confirmed="yes", without_interrupted="x")

    assert "1 failed notice will be sent again." in response.content.decode()
    statuses = dict(
        Notice.objects.filter(pk__in=[n.pk for n in three_failed]).values_list(
            "user__username", "status"
        )
    )
    assert statuses == {"dave": "failed", "erin": "failed", "fay": "pending"}


def test_requeue_puts_a_failed_notice_back_and_leaves_a_sent_one_alone(admin_client, material):
    dave = make_verified_user("dave")
    failed = Notice.objects.create(
        version=material,
        user=dave,
        status=Notice.Status.FAILED,
        attempts=5,
        last_error="SMTPServerDisconnected: gone",
    )
    sent = Notice.objects.get(version=material, user__username="alice")
    sent_at = sent.sent_at
    response = admin_client.post(
        reverse("admin:policy_notice_changelist"),
        {"action": "requeue", "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "1 failed notice will be sent again." in page
    assert "twice" not in page  # the mail server never took it: no second copy possible
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert failed.status == Notice.Status.PENDING
    assert failed.attempts == 0
    assert sent.status == Notice.Status.SENT
    assert sent.sent_at == sent_at
    assert sent.attempts == 1


def test_version_changelist_counts_sent_pending_and_failed_notices(admin_client, material):
    url = reverse("admin:policy_policyversion_changelist")
    page = admin_client.get(url).content.decode()
    assert "Notices: sent / due / failed" in page
    assert re.findall(r'<td class="field-notices">([^<]*)</td>', page) == ["3 / 0 / 0", "—"]
    Notice.objects.filter(user__username="bob").update(status=Notice.Status.FAILED)
    Notice.objects.create(version=material, user=make_verified_user("dave"))
    page = admin_client.get(url).content.decode()
    assert re.findall(r'<td class="field-notices">([^<]*)</td>', page) == ["2 / 1 / 1", "—"]


def test_published_material_version_shows_its_new_uses_read_only(admin_client, material):
    url = reverse("admin:policy_policyversion_change", args=[material.pk])
    page = admin_client.get(url).content.decode()
    assert '<td class="field-name">' in page
    assert "<p>Partner offers</p>" in page
    assert "<p>Offers from partner clinics near you.</p>" in page
    assert 'name="new_uses-0-name"' not in page
    assert 'name="new_uses-0-description"' not in page
    assert 'name="new_uses-__prefix__-name"' not in page  # no blank form to add one
    assert 'name="new_uses-0-DELETE"' not in page


def test_published_material_version_refuses_changes_to_its_new_uses(admin_client, material):
    use = material.new_uses.get()
    response = admin_client.post(
        reverse("admin:policy_policyversion_change", args=[material.pk]),
        {
            "new_uses-TOTAL_FORMS": "2",
            "new_uses-INITIAL_FORMS": "1",
            "new_uses-0-id": use.pk,
            "new_uses-0-version": material.pk,
            "new_uses-0-name": "Renamed",
            "new_uses-0-description": "Changed.",
            "new_uses-1-version": material.pk,
            "new_uses-1-name": "Sneaked in",
            "new_uses-1-description": "Added after publishing.",
        },
    )
    assert response.status_code == HTTPStatus.FORBIDDEN  # the page is read-only: no form
    assert list(material.new_uses.values_list("name", flat=True)) == ["Partner offers"]


def post_new_use(admin_client, draft: PolicyVersion, **use) -> object:
    """Submit a draft's change form with one new use in the inline."""
    return admin_client.post(
        reverse("admin:policy_policyversion_change", args=[draft.pk]),
        {
            "title": draft.title,
            "summary": draft.summary,
            "body": draft.body,
            "is_material": "on",
            "new_uses-TOTAL_FORMS": "1",
            "new_uses-INITIAL_FORMS": "0",
            **{f"new_uses-0-{key}": value for key, value in use.items()},
        },
    )


def test_draft_change_form_saves_a_new_use(admin_client, privacy):
    draft = make_draft(privacy, summary="Partner offers.")
    response = post_new_use(
        admin_client,
        draft,
        name="Partner offers",
        purpose="partner-offers",
        description="Offers from partner clinics.",
    )
    assert response.status_code == HTTPStatus.FOUND
    draft.refresh_from_db()
    assert draft.is_material
    assert list(draft.new_uses.values_list("name", "purpose")) == [
        ("Partner offers", "partner-offers")
    ]


def test_draft_change_form_fills_in_an_empty_purpose_from_the_name(admin_client, privacy):
    draft = make_draft(privacy, summary="Partner offers.")
    response = post_new_use(
        admin_client, draft, name="Partner offers", description="Offers from partner clinics."
    )
    assert response.status_code == HTTPStatus.FOUND
    assert list(draft.new_uses.values_list("purpose", flat=True)) == ["partner-offers"]


def test_the_publish_page_says_how_many_people_a_material_change_emails(
    admin_client, privacy, people
):
    confirm = admin_client.get(publish_url(make_material_draft(privacy))).content.decode()
    # Alice, Bob and Carol (once, with two addresses); not the inactive or the unverified.
    assert "with a verified address (3 people now)" in confirm
    assert 'value="Yes, publish Privacy Policy v2 and email 3 people"' in confirm
    minor = admin_client.get(publish_url(make_draft(privacy))).content.decode()
    assert "people now" not in minor
    assert 'value="Yes, publish Privacy Policy v' in minor
    assert "and email" not in minor


def test_the_publish_page_names_the_number_a_draft_published_out_of_turn_gets(
    admin_client, privacy
):
    make_draft(privacy)  # still a draft
    later = make_draft(privacy)
    change = admin_client.get(change_url(later)).content.decode()
    assert "Given when published, in the order versions are published: 2 if now." in change
    confirm = admin_client.get(publish_url(later)).content.decode()
    assert "<title>Publish Privacy Policy v2?" in confirm
    assert f"Privacy Policy draft #{later.pk}</a>" in confirm  # the breadcrumb: its own name
    assert "Publishing makes <strong>Privacy Policy v2</strong> part of" in confirm
    assert 'value="Yes, publish Privacy Policy v2"' in confirm
    admin_client.post(publish_url(later))
    later.refresh_from_db()
    assert later.is_published and later.number == 2 and str(later) == "Privacy Policy v2"
    history = admin_client.get(change_url(later).replace("/change/", "/history/")).content.decode()
    assert "Published as Privacy Policy v2." in history
    in_turn = admin_client.get(publish_url(privacy.versions.drafts().get())).content.decode()
    assert "<title>Publish Privacy Policy v3?" in in_turn


def test_a_draft_started_before_the_latest_version_is_published_only_when_told_so(
    admin_client, privacy
):
    stale = make_draft(privacy)
    make_published(privacy)  # version 2, published after `stale` was started
    confirm = admin_client.get(publish_url(stale)).content.decode()
    assert "This draft does not build on <a" in confirm
    assert (
        "Privacy Policy v2</a> (published" in confirm and "it was started before it, on" in confirm
    )
    assert "publishing it as it is undoes them" in confirm
    assert 'name="replaces_newer"' in confirm
    refused = admin_client.post(publish_url(stale)).content.decode()
    assert "Tick “Publish it anyway”" in refused
    stale.refresh_from_db()
    assert not stale.is_published
    admin_client.post(publish_url(stale), {"replaces_newer": "yes"})
    stale.refresh_from_db()
    assert stale.is_published and stale.number == 3
    history = admin_client.get(change_url(stale).replace("/change/", "/history/")).content.decode()
    assert (
        "Published as Privacy Policy v3, over the changes of Privacy Policy v2, which it did not "
        "build on." in history
    )
    fresh = admin_client.get(publish_url(make_draft(privacy, body="## New\n\nText."))).content
    assert b"Since then" not in fresh and b"replaces_newer" not in fresh


def test_a_draft_copied_from_an_older_version_is_published_only_when_told_so(admin_client, privacy):
    first = privacy.versions.get(number=1)
    make_published(privacy)  # version 2
    old_copy = version_copy_to_draft(source=first, by=None)  # started after v2, from v1's text
    old_copy.summary = "Back to the old words."
    old_copy.save()
    confirm = admin_client.get(publish_url(old_copy)).content.decode()
    assert "it was copied from Privacy Policy v1." in confirm
    assert 'name="replaces_newer"' in confirm
    admin_client.post(publish_url(old_copy))
    old_copy.refresh_from_db()
    assert not old_copy.is_published
    latest_copy = version_copy_to_draft(source=privacy.versions.get(number=2), by=None)
    assert not latest_copy.published_since_started().exists()


def test_the_publish_page_warns_when_the_text_is_the_same_as_the_latest_version(
    admin_client, privacy
):
    latest = privacy.versions.latest_published()
    same = version_copy_to_draft(source=latest, by=None)
    same.summary = "Nothing, by mistake."
    same.save()
    confirm = admin_client.get(publish_url(same)).content.decode()
    assert "This text is the same as Privacy Policy v1's" in confirm
    changed = make_draft(privacy, body="## Changed\n\nText.")
    assert b"is the same as" not in admin_client.get(publish_url(changed)).content


def test_publishing_a_material_change_with_short_notice_is_refused(admin_client, privacy):
    draft = make_material_draft(privacy, days=5, new_uses=PARTNER_OFFERS)
    confirm = admin_client.get(publish_url(draft)).content.decode()
    assert "Material change." in confirm
    assert "<strong>Partner offers</strong>" in confirm
    assert 'name="override_reason"' in confirm  # a superuser may override
    response = admin_client.post(publish_url(draft))
    assert response.status_code == HTTPStatus.OK
    page = html.unescape(response.content.decode())
    assert "A material change needs 30 days' notice" in page
    assert "or record why it cannot wait." in page
    draft.refresh_from_db()
    assert not draft.is_published
    assert draft.notice_override_reason == ""


def test_a_superuser_may_publish_with_short_notice_by_recording_why(
    admin_client, admin_user, privacy
):
    draft = make_material_draft(privacy, days=5, new_uses=PARTNER_OFFERS)
    response = admin_client.post(
        publish_url(draft), {"override_reason": "  A regulator ordered the change.  "}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("admin:policy_policyversion_change", args=[draft.pk])
    draft.refresh_from_db()
    assert draft.is_published
    assert draft.notice_override_reason == "A regulator ordered the change."
    assert draft.notice_overridden_by == admin_user
    assert draft.published_by == admin_user
    page = admin_client.get(response.url).content.decode()
    assert "A regulator ordered the change." in page


def test_a_blank_override_reason_is_no_override(admin_client, privacy):
    draft = make_material_draft(privacy, days=5, new_uses=PARTNER_OFFERS)
    response = admin_client.post(publish_url(draft), {"override_reason": "   "})
    assert response.status_code == HTTPStatus.OK
    assert "days&#x27; notice" in response.content.decode()
    draft.refresh_from_db()
    assert not draft.is_published


def test_publishers_without_the_override_permission_cannot_shorten_notice(client, privacy):
    publisher = make_user("publisher", staff=True)
    publisher.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_policyversion", "change_policyversion", "publish_policyversion"]
        )
    )
    client.force_login(publisher)
    draft = make_material_draft(privacy, days=5, new_uses=PARTNER_OFFERS)
    assert 'name="override_reason"' not in client.get(publish_url(draft)).content.decode()
    response = client.post(publish_url(draft), {"override_reason": "I am in a hurry."})
    assert response.status_code == HTTPStatus.OK
    assert "You are not allowed to shorten the notice period." in response.content.decode()
    draft.refresh_from_db()
    assert not draft.is_published
    assert draft.notice_overridden_by is None


def test_a_material_change_with_enough_notice_needs_no_reason(admin_client, privacy):
    draft = make_material_draft(privacy, days=31, new_uses=PARTNER_OFFERS)
    response = admin_client.post(publish_url(draft))
    assert response.status_code == HTTPStatus.FOUND
    draft.refresh_from_db()
    assert draft.is_published
    assert draft.notice_override_reason == ""
    assert draft.notice_overridden_by is None
