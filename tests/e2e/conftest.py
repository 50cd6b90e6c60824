"""Fixtures for the browser tests: one headless Chromium per session, a fresh context per test.

The tests run against pytest-django's live server, so they need transactional database access,
and the flush after each test deletes the seed privacy policy. The `privacy_seed` fixture puts
it back before each test by running the data migration's own loader (see its docstring for why
serialized_rollback cannot do this job).

Every page a test opens records console errors and uncaught exceptions; the test fails if
there are any. The site sends a strict Content-Security-Policy (no inline styles or scripts),
and Chromium reports each violation as a console error, so a CSP regression fails here.
"""

import importlib
import os
from pathlib import Path

import pytest
from django.apps import apps

# Playwright's sync API drives the browser from an asyncio event loop that stays registered as
# running in the main thread while the browser is open (the loop runs in a greenlet). Django's
# async-safety check sees that loop and raises SynchronousOnlyOperation on every ORM call from
# this thread: the tests' own queries, the seed fixture, pytest-django's flush after each test.
# No Django code runs inside that loop alongside the test, so the check is a false alarm here.
# Set at import time so it is in place before any fixture touches the database. It holds for
# the whole pytest process, so in a full run it also switches the check off for other tests.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import sync_playwright  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Fail fast: a missing element should not cost 30 seconds per test.
TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the outcome of the test call on the item, for the teardown of `new_page`."""
    report = yield
    if report.when == "call":
        item.e2e_call_report = report
    return report


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium (Playwright cannot download its own browser here)."""
    if not CHROMIUM.exists():
        reason = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; refusing to skip them in CI", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def privacy_seed(transactional_db):
    """Version 1 of the privacy policy, exactly as the data migration 0002 loads it.

    serialized_rollback=True would be the usual way to get migration data back after a flush,
    but it fails here twice over:

    - Once Playwright's event loop is running, Django's thread-critical connection storage
      (asgiref Local) hands out new connection objects. Those lack the
      `_test_serialized_contents` that test-database creation stored on the old ones, so
      TransactionTestCase silently skips the restore and every test after the first one sees
      an empty database.
    - On PostgreSQL, the restore UPDATEs the still-present seed row before the first flush,
      with `created_at` cut to milliseconds by Django's JSON serializer; the trigger from
      migration 0003 refuses any change to a published version, so setup fails.

    The loader creates the document and version 1 only when the document has no version yet.
    """
    seed = importlib.import_module("policy.migrations.0002_seed_privacy_policy")
    seed.load_seed(apps, None)


@pytest.fixture
def browser_errors():
    """Console errors (CSP violations among them) and uncaught exceptions of the test's pages."""
    return []


@pytest.fixture
def new_page(request, browser, live_server, browser_errors):
    """Open a page in a new browser context, e.g. new_page(java_script_enabled=False).

    Paths are relative to the live server. After the test, the contexts are closed and the
    test fails if any of its pages logged an error.
    """
    contexts = []

    def open_page(**context_options):
        context = browser.new_context(base_url=live_server.url, **context_options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                browser_errors.append(f"console error at {message.location}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: browser_errors.append(f"uncaught exception: {error}"))
        return page

    try:
        yield open_page
        for context in contexts:
            for page in context.pages:
                # A round trip to the browser, so events still in flight are delivered.
                page.title()
        report = "the browser reported errors:\n" + "\n".join(browser_errors)
        call = getattr(request.node, "e2e_call_report", None)
        if call is not None and call.failed:
            # Already failed: show the errors with that failure rather than as a second one.
            if browser_errors:
                print(report)
        else:
            assert browser_errors == [], report
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page):
    """A page in a fresh browser context with JavaScript on, like most visitors."""
    return new_page()
