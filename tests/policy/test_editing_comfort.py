"""Editing a version in the admin: a tall editor, a preview without saving, clear refusals."""

import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from policy.models import PolicyVersion
from tests.factories import make_draft, make_published, make_user

pytestmark = pytest.mark.django_db

ADD = reverse("admin:policy_policyversion_add")
PREVIEW = reverse("admin:policy_policyversion_preview")


def change_url(version) -> str:
    return reverse("admin:policy_policyversion_change", args=[version.pk])


def version_form(privacy, **fields) -> dict:
    data = {
        "document": privacy.pk,
        "title": "Privacy Policy",
        "summary": "Explains cookies.",
        "body": "## Cookies\n\nWe keep one.",
        "effective_at_0": "",
        "effective_at_1": "",
        "new_uses-TOTAL_FORMS": "0",
        "new_uses-INITIAL_FORMS": "0",
    }
    return {**data, **fields}


def local(moment) -> tuple[str, str]:
    moment = timezone.localtime(moment)
    return moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S")


def test_the_editor_is_tall_and_the_form_offers_a_preview_without_javascript(admin_client, privacy):
    page = admin_client.get(change_url(make_draft(privacy))).content.decode()
    editor = re.search(r"<textarea [^>]*name=\"body\"[^>]*>", page).group(0)
    assert 'rows="36"' in editor and "policy-editor" in editor
    assert f'formaction="{PREVIEW}"' in page
    assert 'formtarget="_blank"' in page
    button = re.search(rf'<input [^>]*formaction="{PREVIEW}"[^>]*>', page).group(0)
    assert 'type="submit"' in button  # a plain form submission: works with JavaScript off


def test_the_preview_renders_the_unsaved_text_through_the_sanitiser(admin_client, privacy):
    draft = make_draft(privacy, body="## Old\n\nSaved words.")
    body = "## Cookies\n\nWe keep *one*. <script>alert(1)</script> [x](javascript:alert(1))"

    response = admin_client.post(PREVIEW, {"title": "Privacy Policy", "body": body})

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert '<h2 id="cookies">Cookies</h2>' in page
    assert "<em>one</em>" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page  # shown, not run
    assert 'href="javascript:' not in page
    assert "Nothing is saved" in page
    draft.refresh_from_db()
    assert draft.body == "## Old\n\nSaved words."  # the draft is untouched
    assert PolicyVersion.objects.count() == 2


def test_the_preview_is_for_people_who_may_edit_versions(client, privacy):
    viewer = make_user("viewer", staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_policyversion"))
    client.force_login(viewer)
    assert client.post(PREVIEW, {"body": "x"}).status_code == HTTPStatus.FORBIDDEN
    assert client.get(PREVIEW).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_a_time_in_the_past_is_refused_with_a_clear_message(admin_client, privacy):
    day, time = local(timezone.now() - timedelta(hours=2))
    response = admin_client.post(
        ADD, version_form(privacy, effective_at_0=day, effective_at_1=time)
    )
    assert response.status_code == HTTPStatus.OK
    assert "That time has already passed. Choose a time to come, or leave it empty" in (
        response.content.decode()
    )
    assert PolicyVersion.objects.count() == 1


def test_a_time_before_the_newest_published_version_is_refused(admin_client, privacy):
    scheduled = make_published(privacy, effective_at=timezone.now() + timedelta(days=40))
    day, time = local(timezone.now() + timedelta(days=20))
    response = admin_client.post(
        ADD, version_form(privacy, effective_at_0=day, effective_at_1=time)
    )
    page = response.content.decode()
    assert f"Version {scheduled.number} takes effect on" in page
    assert "a newer version cannot take effect before it." in page
    assert PolicyVersion.objects.count() == 2


def test_a_time_to_come_or_none_is_accepted(admin_client, privacy):
    day, time = local(timezone.now() + timedelta(days=3))
    later = admin_client.post(ADD, version_form(privacy, effective_at_0=day, effective_at_1=time))
    assert later.status_code == HTTPStatus.FOUND
    assert admin_client.post(ADD, version_form(privacy)).status_code == HTTPStatus.FOUND
    assert PolicyVersion.objects.drafts().count() == 2


def test_help_texts_name_no_setting_and_no_code():
    for app in ("policy", "accounts"):
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.get_fields():
                text = str(getattr(field, "help_text", ""))
                assert not re.search(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", text), (model, field, text)
                assert ".objects" not in text and "()" not in text, (model, field, text)


def test_the_material_help_text_says_how_many_days(admin_client, privacy, settings):
    settings.POLICY_NOTICE_DAYS = 45
    page = admin_client.get(change_url(make_draft(privacy))).content.decode()
    assert "Publish it at least 45 days before it takes effect." in page


def test_admin_sections_have_distinct_names(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    captions = re.findall(r"<caption>\s*<a [^>]*>([^<]+)</a>", page)
    assert "Privacy center" in captions and "Policies" in captions
    assert len(captions) == len(set(captions)), captions


def test_the_publish_page_shows_the_redline_in_full(admin_client, privacy):
    draft = make_draft(privacy, body=privacy.versions.get(number=1).body + "\n\nNew words.")
    page = admin_client.get(
        reverse("admin:policy_policyversion_publish", args=[draft.pk])
    ).content.decode()
    assert 'class="policy-preview policy-preview--full"' in page
    assert "<ins>New words.</ins>" in page
