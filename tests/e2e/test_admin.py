"""The admin walked as a clinic's staff do, in a real browser, with the production task setting.

A privacy officer signs in, finds the privacy dashboard first, publishes a material change from
a new draft, and watches its notices go out through a real task worker (django-tasks-db's
Worker, the loop `manage.py db_worker` runs, here in a thread of the test's process). Then she
erases a person and sends topic mail. Any console error fails the test (see conftest.py).
"""

import threading
import time

import pytest
from django.core import mail
from django.db import connection, connections
from django_tasks_db.management.commands.db_worker import Worker
from playwright.sync_api import expect

from accounts.models import Topic
from accounts.services.people import preference_set
from policy.models import Notice
from tests.e2e.helpers import sign_in
from tests.factories import PASSWORD, make_verified_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    # SQLite's in-memory test database locks whole tables between the live server's thread
    # and a worker's: a worker running beside the site needs a server database. CI's second
    # pass runs this on PostgreSQL.
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a running worker needs a server database"
    ),
]

DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def worker(settings):
    """The production task backend, and a worker running it until the test ends."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    running = Worker(
        queue_names=["*"], interval=0.2, batch=False, backend_name="default",
        startup_delay=False, max_tasks=None, worker_id="e2e", excluded_queue_names=[],
    )  # fmt: skip

    def run() -> None:
        try:
            running.run()
        finally:
            connections.close_all()  # this thread's own connection, before the test DB goes

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield running
    running.running = False
    thread.join(timeout=10)


@pytest.fixture
def clinic(db):
    """The privacy officer, two people with verified addresses, and a topic one of them chose."""
    officer = make_verified_user("officer", is_staff=True, is_superuser=True)
    people = [make_verified_user(name) for name in ("alice", "bob")]
    news = Topic.objects.create(name="Monthly news", slug="news", description="Once a month.")
    preference_set(
        user=people[0], topic=news, opted_in=True, method="preferences", ip_address=None,
        user_agent="",
    )  # fmt: skip
    return officer, people, news


def reload_until(page, text: str, seconds: float = 20) -> None:
    """Reload until `text` shows: delivery is in the background, as in production."""
    deadline = time.monotonic() + seconds
    while text not in page.content():
        assert time.monotonic() < deadline, f"{text!r} never showed"
        time.sleep(0.5)
        page.reload()


def test_a_privacy_officer_publishes_watches_notices_erases_and_sends_topic_mail(
    new_page, live_server, clinic, worker
):
    officer, (alice, bob), news = clinic
    page = new_page(viewport=DESKTOP)
    page.goto("/admin/")
    sign_in(page, "officer", PASSWORD)
    page.goto("/admin/")

    # The dashboard comes first.
    page.get_by_role("link", name="Privacy dashboard").first.click()
    expect(page.get_by_role("heading", name="The privacy policy")).to_be_visible()
    expect(page.locator("#content-main")).to_contain_text("In effect: Privacy Policy v1")

    # A material change, from a new draft of the current version.
    page.goto("/admin/policy/policyversion/")
    page.get_by_role("link", name="Privacy Policy v1").click()
    page.get_by_role("button", name="New draft from this version").click()
    body = page.locator("textarea[name=body]")
    body.fill(body.input_value() + "\n\n## 7. Partner offers\n\nWe may share your email.\n")
    page.locator("textarea[name=summary]").fill("We may share your email with partners.")
    page.get_by_label("Material change").check()
    page.get_by_text("Add another New use of data").click()
    page.locator("[name=new_uses-0-name]").fill("Partner offers")
    page.locator("[name=new_uses-0-description]").fill("Offers from partner clinics.")
    page.get_by_role("button", name="Save and continue editing").click()
    page.get_by_role("link", name="Publish…").click()
    redline = page.locator(".policy-preview--full")
    expect(redline).to_contain_text("Partner offers")
    assert redline.evaluate("e => e.scrollHeight <= e.clientHeight + 1")  # shown in full
    page.locator("textarea[name=override_reason]").fill("The clinic's lawyer asked for it now.")
    page.get_by_role("button", name="Yes, publish Privacy Policy v2 and email 3 people").click()
    expect(page.locator(".messagelist")).to_contain_text("Published Privacy Policy v2.")

    # The worker makes and sends the notices; the dashboard shows them going out.
    page.goto("/admin/privacy/")
    reload_until(page, "3 of 3")
    assert Notice.objects.filter(status="sent").count() == 3
    assert sorted(m.to[0] for m in mail.outbox) == [
        "alice@example.com", "bob@example.com", "officer@example.com"
    ]  # fmt: skip

    # The notice counts are visible at 1366 px on the version list.
    page.goto("/admin/policy/policyversion/")
    counts = page.locator("td.field-notices").first
    expect(counts).to_have_text("3 / 0 / 0")
    box = counts.bounding_box()
    assert box["x"] + box["width"] <= DESKTOP["width"]

    # Erase a person.
    page.goto("/admin/auth/user/")
    page.locator(f"input[name=_selected_action][value='{bob.pk}']").check()
    page.locator("select[name=action]").select_option("erase")
    page.get_by_role("button", name="Go").click()
    expect(page.locator("#content")).to_contain_text("Kept, without saying who it was")
    page.get_by_role("button", name="Yes, erase 1 person").click()
    expect(page.locator(".messagelist")).to_contain_text("Erased the personal data of 1 person")

    # Topic mail to the people who chose "Monthly news".
    mail.outbox.clear()
    page.goto("/admin/policy/mailing/add/")
    page.locator("select[name=list_key]").select_option("topic:news")
    page.locator("input[name=subject]").fill("Spring news")
    page.locator("textarea[name=body]").fill("## Spring\n\nThe clinic opens on Saturdays.")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".mail-preview")).to_contain_text("You get this because you chose")
    page.get_by_role("link", name="Count the recipients and send…").click()
    page.get_by_role("button", name="Yes, send it to 1 person").click()
    expect(page.locator(".messagelist")).to_contain_text("Sending “Spring news” to 1 person.")
    deadline = time.monotonic() + 20
    while not [m for m in mail.outbox if m.subject.endswith("Spring news")]:
        assert time.monotonic() < deadline, "the topic mail never went out"
        time.sleep(0.3)
    [message] = [m for m in mail.outbox if m.subject.endswith("Spring news")]
    assert message.to == ["alice@example.com"]
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
