"""publish_policy: publish from a Markdown file, and refuse bad input without creating anything."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from policy.models import PolicyVersion
from tests.processes import run_child

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / "privacy.md"
    path.write_text("## 1. What we collect\n\nLess than before.\n", encoding="utf-8")
    return path


def publish(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("publish_policy", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_publishes_and_prints_the_new_number(policy_file, privacy):
    out, err = publish(policy_file, "--summary", "Collect less.")
    assert out.strip() == "2"
    assert "Published Privacy Policy v2" in err
    version = privacy.versions.current()
    assert version.number == 2
    assert "Less than before." in version.body_html
    assert version.summary == "Collect less."


def test_the_same_text_again_publishes_nothing_and_prints_the_latest_number(
    policy_file, privacy, settings
):
    publish(policy_file, "--summary", "Collect less.")
    out, err = publish(policy_file, "--summary", "Run again by the pipeline.")
    assert out.strip() == "2"
    assert err.strip() == (
        f"Privacy Policy v2 already has this text: nothing published "
        f"({settings.SITE_URL}/privacy/versions/2/)"
    )
    assert privacy.versions.count() == 2  # no draft left behind either


def test_prints_the_full_address(policy_file, privacy, settings):
    _, err = publish(policy_file, "--summary", "Collect less.")
    assert f"({settings.SITE_URL}/privacy/versions/2/)" in err


def test_draft_flag_leaves_a_draft(policy_file, privacy):
    out, _ = publish(policy_file, "--summary", "Collect less.", "--draft")
    assert out.strip() == "2"
    assert not privacy.versions.get(number=2).is_published
    assert privacy.versions.current().number == 1


def test_effective_at_schedules_the_version(policy_file, privacy):
    publish(policy_file, "--summary", "Later.", "--effective-at", "2099-01-01T00:00:00-05:00")
    version = privacy.versions.get(number=2)
    assert version.is_scheduled()
    assert version.effective_at.isoformat() == "2099-01-01T05:00:00+00:00"
    assert privacy.versions.current().number == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/no/such/file.md", "--summary", "x"], "no such file"),
        (["{file}", "--summary", "x", "--document", "nope"], "unknown document 'nope'"),
        (["{file}", "--summary", "x", "--effective-at", "2030-01-01T00:00"], "has no time zone"),
        (["{file}", "--summary", "x", "--effective-at", "soon"], "not an ISO-8601 time"),
        (["{file}", "--summary", "x", "--effective-at", "2001-01-01T00:00Z"], "cannot take effect"),
        (["{file}", "--summary", "  "], "--summary must not be empty"),
    ],
)
def test_bad_input_fails_with_one_line_and_creates_nothing(policy_file, args, message):
    before = PolicyVersion.objects.count()
    with pytest.raises(CommandError) as error:
        publish(*[a.format(file=policy_file) for a in args])
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert PolicyVersion.objects.count() == before


def test_empty_file_is_refused(tmp_path):
    empty = tmp_path / "empty.md"
    empty.write_text("\n")
    with pytest.raises(CommandError, match="the file is empty"):
        publish(empty, "--summary", "x")


def test_missing_file_exits_non_zero_from_the_shell(tmp_path):
    result = run_child(
        ["manage.py", "publish_policy", str(tmp_path / "nope.md"), "--summary", "x"],
        DJANGO_DEBUG="on",
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"CommandError: {tmp_path / 'nope.md'}: no such file"
    ]
