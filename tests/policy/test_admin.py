"""Policy admin: smoke tests, read-only published versions, publishing and new drafts."""

from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from policy.models import Document, PolicyVersion
from tests.factories import make_draft, make_published, make_user
from tests.tables import changelist_rows

pytestmark = pytest.mark.django_db


# The management form of the "new uses" inline, as the admin page submits it.
NO_NEW_USES = {"new_uses-TOTAL_FORMS": "0", "new_uses-INITIAL_FORMS": "0"}


def change_url(version: PolicyVersion) -> str:
    return reverse("admin:policy_policyversion_change", args=[version.pk])


@pytest.mark.parametrize(
    "name",
    [
        "admin:policy_document_changelist",
        "admin:policy_document_add",
        "admin:policy_policyversion_changelist",
        "admin:policy_policyversion_add",
    ],
)
def test_admin_pages_load(admin_client, name):
    assert admin_client.get(reverse(name)).status_code == HTTPStatus.OK


def test_version_changelist_shows_number_status_effective_date_and_publisher(admin_client, privacy):
    make_published(
        privacy,
        by=make_user("pat", staff=True),
        effective_at=datetime(2024, 5, 6, 16, 0, tzinfo=UTC),  # noon in New York
    )
    draft = make_draft(privacy)
    html = admin_client.get(reverse("admin:policy_policyversion_changelist")).content.decode()
    rows = [
        (row["__str__"], row["status"], row["effective_at"], row["published_by"])
        for row in changelist_rows(html)
    ]
    assert rows == [
        # A draft's name never changes; its number is given when it is published.
        (f"Privacy Policy draft #{draft.pk}", "Draft", "-", "-"),
        ("Privacy Policy v2", "Published", "May 6, 2024, noon", "pat"),
        ("Privacy Policy v1", "Published", "Jan. 3, 2009, midnight", "-"),
    ]


def test_document_change_page_loads(admin_client, privacy):
    url = reverse("admin:policy_document_change", args=[privacy.pk])
    assert admin_client.get(url).status_code == HTTPStatus.OK


def test_published_version_is_read_only(admin_client, privacy):
    version = privacy.versions.get(number=1)
    html = admin_client.get(change_url(version)).content.decode()
    assert 'name="body"' not in html
    assert 'name="summary"' not in html
    assert "cannot be edited or deleted" in html
    assert 'name="_save"' not in html  # no Save button that could only fail
    assert 'name="_continue"' not in html
    assert "New draft from this version" in html  # the way to change it
    assert "Notices: sent / due / failed" in html  # not material: "—"
    response = admin_client.post(
        change_url(version), {"title": "Hacked", "body": "x", "summary": "x"}
    )
    version.refresh_from_db()
    assert version.title == "Privacy Policy"
    assert "Safe Harbor" in version.body
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_published_version_cannot_be_deleted_in_admin(admin_client, privacy):
    version = privacy.versions.get(number=1)
    url = reverse("admin:policy_policyversion_delete", args=[version.pk])
    assert admin_client.get(url).status_code == HTTPStatus.FORBIDDEN
    admin_client.post(
        reverse("admin:policy_policyversion_changelist"),
        {"action": "delete_selected", "_selected_action": [version.pk], "post": "yes"},
    )
    assert PolicyVersion.objects.filter(pk=version.pk).exists()


def test_staff_create_a_draft_and_see_it_rendered(admin_client, privacy):
    response = admin_client.post(
        reverse("admin:policy_policyversion_add"),
        {
            "document": privacy.pk,
            "title": "Privacy Policy",
            "summary": "Plainer words.",
            "body": "## Plain words\n\n<script>alert(1)</script> We keep little.",
            **NO_NEW_USES,
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    draft = privacy.versions.get(number=2)
    assert not draft.is_published
    html = admin_client.get(change_url(draft)).content.decode()
    assert '<div class="policy-preview"><h2 id="plain-words">Plain words</h2>' in html
    assert "<script>alert(1)</script>" not in html


def test_draft_form_shows_field_errors_and_saves_nothing(admin_client, privacy):
    response = admin_client.post(
        reverse("admin:policy_policyversion_add"),
        {"document": privacy.pk, "title": "", "summary": "", "body": "", **NO_NEW_USES},
    )
    assert response.status_code == HTTPStatus.OK
    assert "This field is required." in response.content.decode()
    assert privacy.versions.count() == 1


def test_publish_is_confirmed_then_stamps_who_and_when(client, privacy):
    staff = make_user(staff=True, is_superuser=True)
    client.force_login(staff)
    draft = make_draft(privacy, summary="Better words.")
    url = reverse("admin:policy_policyversion_publish", args=[draft.pk])
    confirm = client.get(url)
    assert confirm.status_code == HTTPStatus.OK
    assert "can never be edited or deleted afterwards" in confirm.content.decode()
    draft.refresh_from_db()
    assert not draft.is_published
    response = client.post(url)
    assert response.status_code == HTTPStatus.FOUND
    draft.refresh_from_db()
    assert draft.is_published
    assert draft.published_by == staff
    assert privacy.versions.current().pk == draft.pk


def test_the_publish_page_compares_with_the_latest_published_version_even_if_scheduled(
    admin_client, privacy
):
    from datetime import timedelta

    from django.utils import timezone

    v1 = privacy.versions.get(number=1)
    make_published(
        privacy, body=v1.body + "\n\nScheduled sentence.", summary="Two.",
        effective_at=timezone.now() + timedelta(days=40),
    )  # fmt: skip
    draft = make_draft(privacy, body=v1.body + "\n\nScheduled sentence. Third.", summary="3")

    page = admin_client.get(reverse("admin:policy_policyversion_publish", args=[draft.pk]))

    html = page.content.decode()
    assert "Changes against the latest published version (Privacy Policy v2)" in html
    assert "scheduled to take effect" in html
    redline = html.split("policy-preview--full")[1]
    assert "<ins" in redline and "Third." in redline
    assert "Scheduled sentence" not in redline.split("<ins")[1].split("</ins>")[0]


def test_publish_shows_why_it_refused(admin_client, privacy):
    draft = make_draft(privacy, summary="")
    response = admin_client.post(reverse("admin:policy_policyversion_publish", args=[draft.pk]))
    assert response.status_code == HTTPStatus.OK
    assert "Write a summary of the changes before publishing." in response.content.decode()
    draft.refresh_from_db()
    assert not draft.is_published


def test_publishing_needs_the_publish_permission(client, privacy):
    editor = make_user("editor", staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_policyversion", "change_policyversion"])
    )
    client.force_login(editor)
    draft = make_draft(privacy)
    html = client.get(change_url(draft)).content.decode()
    assert 'name="body"' in html  # the editor's own form, without the button
    assert "Publish…" not in html
    response = client.post(reverse("admin:policy_policyversion_publish", args=[draft.pk]))
    assert response.status_code == HTTPStatus.FORBIDDEN
    draft.refresh_from_db()
    assert not draft.is_published


def test_new_draft_from_a_published_version(admin_client, privacy):
    source = privacy.versions.get(number=1)
    url = reverse("admin:policy_policyversion_new_draft", args=[source.pk])
    assert admin_client.get(url).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    response = admin_client.post(url)
    draft = privacy.versions.get(number=2)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == change_url(draft)
    assert draft.body == source.body
    assert not draft.is_published
    assert 'name="body"' in admin_client.get(change_url(draft)).content.decode()
    history = admin_client.get(change_url(draft).replace("/change/", "/history/")).content.decode()
    assert "Started from Privacy Policy v1." in history


def test_document_with_versions_cannot_be_deleted(admin_client, privacy):
    url = reverse("admin:policy_document_delete", args=[privacy.pk])
    assert admin_client.get(url).status_code == HTTPStatus.FORBIDDEN
    assert Document.objects.filter(pk=privacy.pk).exists()
