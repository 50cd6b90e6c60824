"""Material changes: a summary, POLICY_NOTICE_DAYS of notice or a recorded override, new uses."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from policy.models import NewUse, Notice, PublishedVersionError
from policy.services.versions import version_publish
from tests.factories import make_material_draft, make_user

pytestmark = pytest.mark.django_db


def test_material_change_with_enough_notice_is_scheduled(privacy, settings):
    version = version_publish(
        version=make_material_draft(privacy, days=settings.POLICY_NOTICE_DAYS + 1), by=None
    )
    assert version.is_scheduled()
    assert privacy.versions.current().number == 1


def test_material_change_with_short_notice_is_refused_and_stays_a_draft(privacy, settings):
    settings.POLICY_NOTICE_DAYS = 30
    draft = make_material_draft(privacy, days=29)
    with pytest.raises(ValidationError) as error:
        version_publish(version=draft, by=None)
    assert "needs 30 days' notice" in str(error.value)
    draft.refresh_from_db()
    assert not draft.is_published
    assert not Notice.objects.exists()


def test_notice_days_follow_the_setting(privacy, settings):
    settings.POLICY_NOTICE_DAYS = 7
    assert version_publish(version=make_material_draft(privacy, days=8), by=None).is_published


def test_a_permitted_override_is_recorded_with_who_and_why(privacy):
    staff = make_user("editor", staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="override_notice_period"))
    staff = type(staff).objects.get(pk=staff.pk)  # fresh permission cache
    draft = make_material_draft(privacy, days=0)
    version = version_publish(version=draft, by=staff, override_reason="Court order, today.")
    version.refresh_from_db()
    assert version.is_published
    assert version.notice_override_reason == "Court order, today."
    assert version.notice_overridden_by == staff


def test_an_override_needs_the_permission(privacy):
    staff = make_user("editor", staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="publish_policyversion"))
    draft = make_material_draft(privacy, days=0)
    with pytest.raises(ValidationError, match="not allowed to shorten the notice period"):
        version_publish(version=draft, by=staff, override_reason="Because.")
    draft.refresh_from_db()
    assert not draft.is_published


def test_a_blank_override_reason_is_no_override(privacy):
    with pytest.raises(ValidationError):
        version_publish(
            version=make_material_draft(privacy, days=0), by=None, override_reason="   "
        )


def test_non_material_changes_need_no_notice(privacy):
    draft = make_material_draft(privacy, days=0, is_material=False)
    assert version_publish(version=draft, by=None).is_current()


def test_new_uses_get_a_purpose_from_their_name(privacy):
    draft = make_material_draft(privacy, days=31)
    use = NewUse.objects.create(version=draft, name="Partner Offers", description="Share email.")
    assert use.purpose == "partner-offers"


def test_new_uses_of_a_published_version_are_frozen(privacy):
    draft = make_material_draft(privacy, days=31)
    use = NewUse.objects.create(version=draft, name="Partner offers", description="Share email.")
    version_publish(version=draft, by=None)
    use.description = "Something else."
    with pytest.raises(PublishedVersionError):
        use.save()
    with pytest.raises(PublishedVersionError):
        use.delete()
    with pytest.raises(PublishedVersionError):
        NewUse.objects.create(version=draft, name="Another", description="x")


# publish_policy --material / --new-use / --override-notice


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / "privacy.md"
    path.write_text("## 1. Partners\n\nWe may share data with partners, if you allow it.\n")
    return path


def publish(*args) -> str:
    out = StringIO()
    call_command("publish_policy", *map(str, args), stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_command_publishes_a_material_change_with_new_uses(policy_file, privacy):
    effective = (timezone.now() + timedelta(days=40)).isoformat()
    number = publish(
        policy_file, "--summary", "Partners.", "--effective-at", effective,
        "--new-use", "Partner offers: Share your email with partners.",
        "--new-use", "Research: Use visit data for studies.",
    )  # fmt: skip
    version = privacy.versions.get(number=int(number))
    assert version.is_material
    assert [(u.purpose, u.description) for u in version.new_uses.all()] == [
        ("partner-offers", "Share your email with partners."),
        ("research", "Use visit data for studies."),
    ]


def test_command_refuses_short_notice_in_one_line_and_creates_nothing(policy_file, privacy):
    with pytest.raises(CommandError) as error:
        publish(policy_file, "--summary", "Partners.", "--material")
    assert "days' notice" in str(error.value)
    assert "\n" not in str(error.value)
    assert privacy.versions.count() == 1
    assert not NewUse.objects.exists()


def test_command_records_an_override(policy_file, privacy):
    number = publish(
        policy_file, "--summary", "Partners.", "--material", "--override-notice", "Regulator asked."
    )
    version = privacy.versions.get(number=int(number))
    assert version.is_current()
    assert version.notice_override_reason == "Regulator asked."


@pytest.mark.parametrize("value", ["no colon here", ": no name", "Name:   "])
def test_command_refuses_a_malformed_new_use(policy_file, privacy, value):
    with pytest.raises(CommandError, match="NAME: DESCRIPTION"):
        publish(policy_file, "--summary", "x", "--new-use", value)
    assert privacy.versions.count() == 1


def test_command_refuses_two_new_uses_with_the_same_name(policy_file, privacy):
    effective = (timezone.now() + timedelta(days=40)).isoformat()
    with pytest.raises(CommandError, match="same name"):
        publish(
            policy_file, "--summary", "x", "--effective-at", effective,
            "--new-use", "Offers: one.", "--new-use", "Offers: two.",
        )  # fmt: skip
    assert privacy.versions.count() == 1
