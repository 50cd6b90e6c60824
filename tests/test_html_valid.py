"""Every page validates: the W3C Nu HTML Checker (vnu.jar) finds no error in any of them.

The pages are fetched with the test client as each person sees them: visitors (the policy
pages, every public form empty and with errors, the error pages), and a signed-in person (the
account pages, with a pending review and their answers, preferences, two-factor set-up). They
are written to files and checked in one run of the checker. It needs Java and vnu.jar from npm
(`make tools`, which .ci/run runs); without them the test is skipped, except in CI.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Topic
from accounts.services.people import preference_set
from tests.factories import PASSWORD, make_pending_review, make_verified_user, reauthenticate
from tests.processes import ROOT

pytestmark = pytest.mark.django_db

VNU = Path(os.environ.get("VNU_JAR", ROOT / ".tools/node_modules/vnu-jar/build/dist/vnu.jar"))

PUBLIC = [
    "/", "/privacy/", "/privacy/versions/", "/privacy/versions/1/",
    "/privacy/versions/1/compare/2/", "/privacy/versions/2/changes/", "/privacy/contact/",
    "/privacy/request/", "/privacy/request/sent/", "/privacy/request/verified/",
    "/privacy/request/verify/not-a-token/", "/accounts/login/", "/accounts/signup/",
    "/accounts/password/reset/", "/accounts/password/reset/done/", "/accounts/username/",
    "/accounts/username/sent/", "/accounts/unsubscribe/not-a-token/", "/no-such-page/",
]  # fmt: skip
PUBLIC_ERRORS = {  # forms sent with bad input: the page with its error messages
    "/privacy/contact/": {"name": "", "email": "not an address", "subject": "", "message": ""},
    "/privacy/request/": {"kind": "", "email": "not an address", "details": ""},
    "/accounts/login/": {"login": "alice", "password": "wrong password"},
    "/accounts/signup/": {"username": "a", "email": "x", "password1": "1", "password2": "2"},
    "/accounts/password/reset/": {"email": "not an address"},
    "/accounts/username/": {"email": "not an address"},
    "/privacy/request/verify/not-a-token/": {},
}
SIGNED_IN = [
    "/", "/privacy/", "/privacy/review/", "/privacy/request/", "/accounts/",
    "/accounts/preferences/", "/accounts/data/", "/accounts/delete/", "/accounts/email/",
    "/accounts/password/change/", "/accounts/2fa/", "/accounts/2fa/totp/activate/",
    "/accounts/2fa/webauthn/add/", "/accounts/sessions/", "/accounts/reauthenticate/",
]  # fmt: skip
SIGNED_IN_ERRORS = {
    "/accounts/delete/": {"confirmation": "someone else"},
    "/accounts/password/change/": {"oldpassword": "wrong", "password1": "1", "password2": "2"},
}


@pytest.fixture
def checker():
    java = shutil.which("java")
    if java is None or not VNU.exists():
        reason = f"the HTML checker needs Java and {VNU} (make tools)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; refusing to skip it in CI", pytrace=False)
        pytest.skip(reason)
    return [java, "-jar", str(VNU)]


@pytest.fixture
def site(privacy):
    """Version 2, a material change with a new use, which alice has yet to review; a topic."""
    alice = make_verified_user("alice")
    topic = Topic.objects.create(name="News", slug="news", description="Monthly.")
    preference_set(user=alice, topic=topic, opted_in=True, method="preferences",
                   ip_address=None, user_agent="")  # fmt: skip
    make_pending_review(privacy, alice)
    return alice


def pages(site) -> dict[str, str]:
    """Every page, by a file name that says what it is."""
    found = {}
    visitor = Client()
    for path in PUBLIC:
        found[f"visitor{path}"] = visitor.get(path).content.decode()
    for path, data in PUBLIC_ERRORS.items():
        found[f"visitor{path}#errors"] = (
            Client().post(path, {**data, "website": ""}).content.decode()
        )
    person = Client()
    person.post(reverse("account_login"), {"login": "alice", "password": PASSWORD})
    reauthenticate(person, "/accounts/")
    for path in SIGNED_IN:
        found[f"alice{path}"] = person.get(path, HTTP_SEC_GPC="1").content.decode()
    for path, data in SIGNED_IN_ERRORS.items():
        found[f"alice{path}#errors"] = person.post(path, data).content.decode()
    return found


CANARY = (
    '<!doctype html><html lang="en"><title>canary</title>'
    '<time datetime="2026-11-30T20:30:10.579440+00:00">now</time>'
)


def test_every_page_passes_the_w3c_html_checker(checker, site, tmp_path):
    found = {**pages(site), "canary (invalid on purpose)": CANARY}
    names = {}
    for n, (name, html) in enumerate(sorted(found.items())):
        assert "<!doctype html>" in html.lower(), f"{name} is not a page"
        file = tmp_path / f"{n:02}.html"
        file.write_text(html, encoding="utf-8")
        names[file.name] = name
    result = subprocess.run(
        [*checker, "--errors-only", "--format", "json", *sorted(map(str, tmp_path.iterdir()))],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    messages = json.loads(result.stderr)["messages"]
    errors = [
        f"{names.get(m.get('url', '').rpartition('/')[2], m.get('url'))} "
        f"line {m.get('lastLine')}: {m['message']}"
        for m in messages
        if m.get("type") == "error" or m.get("subType") == "fatal"
    ]
    # The canary proves the checker ran and its answer was read: its one error, and only it.
    canary = [e for e in errors if e.startswith("canary")]
    assert len(canary) == 1 and "fraction of a second" in canary[0], errors
    errors = [e for e in errors if not e.startswith("canary")]
    assert not errors, f"{len(errors)} HTML errors in {len(names) - 1} pages:\n" + "\n".join(errors)
    assert len(names) - 1 == (
        len(PUBLIC) + len(PUBLIC_ERRORS) + len(SIGNED_IN) + len(SIGNED_IN_ERRORS)
    )
