"""One machine without Redis, as `make serve` runs it: gunicorn with 4 workers, SQLite, and the
default cache (a folder every process shares).

Rate limits hold exactly across the workers, and a version published from the command line
shows on the very next request, whichever worker answers it.
"""

import re
import subprocess
import sys
from urllib.parse import urlencode
from urllib.request import Request

import pytest

from tests.integration.sites import gunicorn_site
from tests.integration.test_scale_out import Browser, Page
from tests.processes import ROOT

WORKERS = 4
REFUSED = "Too many wrong passwords"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("one-machine")
    with gunicorn_site(folder, WEB_CONCURRENCY=str(WORKERS)) as (instance, env):
        yield instance, env, folder


def test_login_limits_hold_exactly_across_workers(site):
    """login_failed: 5 per account in 300 s, and 10 per IP address a minute.

    Every attempt counts against the address, refused ones too; 4 workers without a shared
    cache would let about 4 times as many through.
    """
    instance, _, _ = site
    pages = [Browser(instance.base).log_in("alice", "not the password") for _ in range(6)]
    assert [REFUSED in page.text for page in pages] == [False] * 5 + [True]
    pages = [Browser(instance.base).log_in(f"nobody{n}", "not the password") for n in range(8)]
    assert [REFUSED in page.text for page in pages] == [False] * 4 + [True] * 4


def test_a_publish_from_the_command_line_shows_on_the_next_request(site):
    instance, env, folder = site
    reader = Browser(instance.base)
    for _ in range(2 * WORKERS):  # every worker keeps version 1
        assert "Version 1" in reader.get("/privacy/").text
    text = folder / "v2.md"
    text.write_text("## Version two\n\nPublished from the command line, read at once.\n")
    result = subprocess.run(
        [sys.executable, "manage.py", "publish_policy", str(text), "--summary", "v2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for _ in range(2 * WORKERS):
        page = reader.get("/privacy/")
        assert "Published from the command line, read at once." in page.text


def test_a_chunked_form_post_is_read_and_an_over_long_one_refused(site):
    """gunicorn hands a chunked body on without a Content-Length, which Django cannot read:
    the site reads it up to the limit (256 KB) and refuses what goes past with the 413 page."""
    instance, _, _ = site
    browser = Browser(instance.base)
    form = browser.get("/privacy/contact/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    fields = {
        "name": "Vera", "email": "vera@example.org", "subject": "Chunked",
        "message": "Sent in chunks.", "website": "", "csrfmiddlewaretoken": token,
    }  # fmt: skip
    body = urlencode(fields).encode()

    def post_in_chunks(data: bytes) -> Page:
        # An iterable body and no Content-Length: urllib sends it chunked.
        chunks = iter([data[i : i + 4096] for i in range(0, len(data), 4096)])
        request = Request(instance.base + "/privacy/contact/", data=chunks,
                          headers={"Content-Type": "application/x-www-form-urlencoded",
                                   "Referer": instance.base + "/privacy/contact/"})  # fmt: skip
        return browser._open(request)

    sent = post_in_chunks(body)
    assert sent.status == 200 and sent.url.endswith("/privacy/"), sent.text[-1500:]
    assert "Your message has reached our privacy team." in sent.text, sent.text[-1500:]
    refused = post_in_chunks(body + b"&padding=" + b"x" * (300 * 1024))
    assert refused.status == 413
    assert "That was too much to send" in refused.text
