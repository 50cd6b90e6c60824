"""The deployment in deploy/, run for real: Debian's nginx with a self-signed certificate in
front of two gunicorn instances and a db_worker, all started by `honcho` from deploy/Procfile,
over a PostgreSQL database and a Redis of their own.

Every request comes from a loopback address of its own (127.0.0.2, .3, ...), while nginx
reaches gunicorn from 127.0.0.1, so "the address nginx saw" and "the proxy's address" differ.
nginx's access log, in deploy's own format, says which instance answered and what the cache
did. Needs PostgreSQL (it runs in .ci/run's PostgreSQL + Redis pass and skips elsewhere);
nginx, openssl, redis-server, honcho and the pinned Observatory (`make tools`) must be here,
and under CI a missing one fails the run instead of skipping it.
"""

import email
import gzip
import http.client
import json
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import brotli
import psycopg
import pytest
from django.db import connection

from policy.models import Acceptance, PolicyVersion
from tests.nginx import DEBIAN_CONF, NGINX, Nginx
from tests.processes import ROOT, child_env, free_port

# Sign-ups and logins go to gunicorn, which hashes with the project's own hasher.
pytestmark = pytest.mark.real_hashers

BIN = Path(sys.executable).parent
HONCHO = BIN / "honcho"
OBSERVATORY = ROOT / ".tools/node_modules/@mdn/mdn-http-observatory/src/scan.js"
STARTUP_SECONDS = 60
PASSWORD = "correct horse battery staple 7"
SPOOFED = "198.51.100.23"
LOCKED = "Too many wrong passwords for this login"

# The Observatory has no option for ports, and follows the redirect to https://localhost/.
# This preload sends its connections for localhost:80 and :443 to the test's ports instead.
PORT_MAP = """
import net from "node:net";
const ports = JSON.parse(process.env.OBSERVATORY_PORTS);
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const options = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (options && typeof options === "object" && ports[String(options.port)]) {
    options.port = ports[String(options.port)];
  }
  return connect.apply(this, args);
};
"""


def _missing_tools() -> list[str]:
    missing = [name for name in ("openssl", "redis-server", "node") if not shutil.which(name)]
    if NGINX is None or not DEBIAN_CONF.exists():
        missing.append("nginx (Debian's package)")
    if not HONCHO.exists():
        missing.append("honcho (requirements-dev.txt)")
    if not OBSERVATORY.exists():
        missing.append("@mdn/mdn-http-observatory (make tools)")
    return missing


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        encoding = self.headers.get("Content-Encoding", "")
        body = {"br": brotli.decompress, "gzip": gzip.decompress}.get(encoding, bytes)(self.body)
        return body.decode()

    def set_cookie(self, name: str) -> str:
        """The Set-Cookie header for `name`, whole."""
        for header in self.headers.get_all("Set-Cookie") or []:
            if header.startswith(f"{name}="):
                return header
        raise AssertionError(f"no Set-Cookie for {name}: {self.headers}")


@dataclass
class Site:
    nginx: Nginx | None  # set once nginx is up
    instances: tuple[str, str]  # "127.0.0.1:port" of gunicorn A and B
    env: dict[str, str]
    folder: Path
    tls: ssl.SSLContext
    database: str

    def honcho(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(HONCHO), "-f", "deploy/Procfile", "-e", str(self.folder / "env"), *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def sql(self, query: str, *params):
        with psycopg.connect(_server_url(self.database), autocommit=True) as db:
            return db.execute(query, params).fetchall()


@dataclass
class Browser:
    """One person's browser on its own loopback address, with its own cookies."""

    site: Site
    address: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, *, body=None, headers=None, plain=False):
        """One request on a new connection; `plain` for HTTP on port "80" instead of HTTPS."""
        options = {"source_address": (self.address, 0), "timeout": 60}
        if plain:
            conn = http.client.HTTPConnection("localhost", self.site.nginx.http_port, **options)
        else:
            conn = http.client.HTTPSConnection(
                "localhost", self.site.nginx.https_port, context=self.site.tls, **options
            )
        sent = {**self.headers, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=sent)
            answer = conn.getresponse()
            response = Response(answer.status, answer.headers, answer.read())
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response

    def get(self, path: str, **headers: str) -> Response:
        return self.request("GET", path, headers=headers)

    def submit(self, path: str, fields: dict[str, str]) -> Response:
        """Load the form at `path` and post it with its CSRF token, as a browser would."""
        form = self.get(path)
        assert form.status == 200, form.text[-2000:]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, f"no CSRF token on {path}"
        origin = f"https://localhost:{self.site.nginx.https_port}"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Referer": origin + path,
        }
        body = urlencode({**fields, "csrfmiddlewaretoken": token.group(1)})
        return self.request("POST", path, body=body, headers=headers)


def _server_url(database: str) -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{quote(db['USER'] or '', safe='')}{password}@{host}/{database}"


def _listening_ports(count: int) -> int:
    """P such that P, P + 1, ... P + count - 1 are free, below the ephemeral range.

    honcho gives web.1 and web.2 two ports in a row. Ports the kernel hands out for outgoing
    connections (32768 and up) could be taken by gunicorn's own connections to PostgreSQL
    and Redis before the next process binds them.
    """
    for _ in range(200):
        first = random.randrange(20000, 32000 - count)  # noqa: S311 (not for security)
        probes = [socket.socket() for _ in range(count)]
        try:
            for n, probe in enumerate(probes):
                probe.bind(("127.0.0.1", first + n))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return first
    raise AssertionError(f"no {count} free ports in a row")


def _wait_for(check, what: str, seconds: float, log) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} not ready in {seconds} s:\n{log()}")


def _healthy(instance: str) -> bool:
    conn = http.client.HTTPConnection(*instance.split(":"), timeout=5)
    try:
        conn.request("GET", "/healthz/", headers={"Host": "localhost"})
        return conn.getresponse().status == 200
    finally:
        conn.close()


def _stop(process: subprocess.Popen | None, seconds: float = 30) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if connection.vendor != "postgresql":
        pytest.skip("the deployment runs over PostgreSQL (.ci/run's PostgreSQL + Redis pass)")
    if missing := _missing_tools():
        message = "the deployment test needs " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("deploy")
    database = f"pamedspa_deploy_{secrets.token_hex(4)}"
    redis_port, web_port = free_port(), _listening_ports(4)  # web.1, web.2, nginx's two
    (folder / "mail").mkdir()
    settings = {
        "DJANGO_DEBUG": "off",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "localhost",
        "DJANGO_SITE_URL": "https://localhost",
        "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO=https",
        "ALLAUTH_TRUSTED_PROXY_COUNT": "1",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        "DJANGO_TASKS_BACKEND": "database",
        "DATABASE_URL": _server_url(database),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "EMAIL_URL": f"filemail://{folder / 'mail'}",
        "WEB_CONCURRENCY": "2",
        # A material change takes effect at once, so one publish shows the page and the mail.
        "POLICY_NOTICE_DAYS": "0",
    }
    # The same file would be systemd's EnvironmentFile (see deploy/systemd/).
    (folder / "env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    env = child_env(PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")

    redis = honcho = nginx = None
    with psycopg.connect(_server_url("postgres"), autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{database}"')
    try:
        redis = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "",
             "--appendonly", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        tls = ssl.create_default_context()
        site = Site(None, (f"127.0.0.1:{web_port}", f"127.0.0.1:{web_port + 1}"), env, folder,
                    tls, database)  # fmt: skip
        release = site.honcho("start", "release", timeout=300)
        assert release.returncode == 0, release.stdout[-3000:] + release.stderr[-3000:]

        log = folder / "honcho.log"
        with log.open("wb") as stream:
            honcho = subprocess.Popen(
                [str(HONCHO), "-f", "deploy/Procfile", "-e", str(folder / "env"),
                 "start", "-p", str(web_port), "-c", "web=2,worker=1", "web", "worker"],
                cwd=ROOT, env=env, stdout=stream, stderr=subprocess.STDOUT,
            )  # fmt: skip
        tail = lambda: log.read_text(errors="replace")[-3000:]  # noqa: E731
        for instance in site.instances:
            _wait_for(lambda i=instance: _healthy(i), instance, STARTUP_SECONDS, tail)
        assert honcho.poll() is None, tail()

        nginx = Nginx(
            folder / "nginx",
            upstreams=site.instances,
            http_port=web_port + 2,
            https_port=web_port + 3,
        )
        nginx.start()
        site.nginx = nginx
        tls.load_verify_locations(nginx.cert)
        yield site
    finally:
        if nginx:
            nginx.stop()
        _stop(honcho)
        _stop(redis)
        with psycopg.connect(_server_url("postgres"), autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _mail_to(folder: Path, address: str, subject: str, seconds: float = 30):
    """The first message to `address` whose subject contains `subject`, waiting for it."""
    deadline = time.monotonic() + seconds
    while True:
        for path in sorted(folder.iterdir()):
            for chunk in path.read_text().split("-" * 79):
                message = email.message_from_string(chunk.strip())
                if address in message.get("To", "") and subject in message.get("Subject", ""):
                    return message
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {address} about {subject!r}")
        time.sleep(0.2)


def _text_of(message) -> str:
    return "".join(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )


@pytest.fixture(scope="module")
def person(site):
    """Someone who signed up (from 127.0.0.2, claiming another address) and confirmed, all
    through nginx."""
    browser = Browser(site, "127.0.0.2", headers={"X-Forwarded-For": SPOOFED})
    form = browser.get("/accounts/signup/")
    version = re.search(r'name="policy_version" value="(\d+)"', form.text).group(1)
    page = browser.submit(
        "/accounts/signup/",
        {"username": "dana", "email": "dana@example.com", "password1": PASSWORD,
         "password2": PASSWORD, "accept_policy": "on", "policy_version": version, "website": ""},
    )  # fmt: skip
    assert page.status == 302, page.text[-2000:]
    message = _mail_to(site.folder / "mail", "dana@example.com", "Confirm")
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^/\s]+/)", _text_of(message))
    assert link, _text_of(message)
    page = browser.submit(link.group(1), {})
    assert page.status == 302, page.text[-2000:]
    return "dana"


def _instance(line: str) -> str:
    return re.search(r"upstream=(\S+)", line).group(1)


def _cache(line: str) -> str:
    return re.search(r"cache=(\S+)", line).group(1)


# TLS, HSTS, cookies


def test_plain_http_is_redirected_to_https_on_the_same_host(site):
    response = Browser(site, "127.0.0.2").request("GET", "/privacy/?a=1", plain=True)
    assert response.status == 301
    assert response.headers["Location"] == "https://localhost/privacy/?a=1"


def test_https_answers_carry_hsts_and_the_security_headers(site):
    response = Browser(site, "127.0.0.2").get("/")
    assert response.status == 200
    assert response.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert len(response.headers.get_all("Strict-Transport-Security")) == 1
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "nginx/" not in response.headers.get("Server", "")  # server_tokens off


def test_cookies_are_host_prefixed_secure_and_unscoped(site, person):
    browser = Browser(site, "127.0.0.2")
    csrf = browser.get("/accounts/login/").set_cookie("__Host-csrftoken")
    page = browser.submit("/accounts/login/", {"login": person, "password": PASSWORD})
    assert page.status == 302
    session = page.set_cookie("__Host-sessionid")
    for cookie in (csrf, session):
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"secure", "path"} <= attributes
        assert "domain" not in attributes
        assert "Path=/" in cookie
    assert "HttpOnly" in session
    assert "sessionid" not in browser.cookies  # never the unprefixed name


# One site, two instances


def test_a_login_through_nginx_on_one_instance_is_valid_on_the_other(site, person):
    browser = Browser(site, "127.0.0.2")
    page = browser.submit("/accounts/login/?probe=login", {"login": person, "password": PASSWORD})
    assert (page.status, page.headers["Location"]) == (302, "/accounts/")
    logged_in_on = _instance(site.nginx.log_line("probe=login"))
    assert logged_in_on in site.instances

    answered_by = set()
    for n in range(8):
        page = browser.get(f"/accounts/?probe=after-{n}")
        assert page.status == 200
        assert f"Signed in as <strong>{person}</strong>" in page.text
        answered_by.add(_instance(site.nginx.log_line(f"probe=after-{n}")))
    assert answered_by == set(site.instances)  # the other instance too, with the same session


# The client's address


def test_the_consent_ledger_holds_the_address_nginx_saw_not_the_spoofed_one(site, person):
    rows = site.sql(
        f"SELECT a.{Acceptance._meta.get_field('ip_address').column}, a.method "
        f"FROM {Acceptance._meta.db_table} a JOIN auth_user u ON u.id = a.user_id "
        "WHERE u.username = %s",
        person,
    )
    assert [(str(ip), method) for ip, method in rows] == [("127.0.0.2", "signup")]
    # ... not 127.0.0.1 (nginx, as gunicorn saw it), nor the X-Forwarded-For it sent (SPOOFED)


def test_rate_limits_count_the_client_nginx_saw(site):
    """10 wrong passwords a minute from one address lock it, whatever it claims to be."""
    attacker = Browser(site, "127.0.0.3")
    for n in range(10):
        attacker.headers["X-Forwarded-For"] = f"203.0.113.{n + 1}"
        page = attacker.submit("/accounts/login/", {"login": f"nobody{n}", "password": "wrong!"})
        assert page.status == 200
        assert LOCKED not in page.text, n
    attacker.headers["X-Forwarded-For"] = "203.0.113.99"
    page = attacker.submit("/accounts/login/", {"login": "nobody-else", "password": "wrong!"})
    assert LOCKED in page.text

    neighbour = Browser(site, "127.0.0.4")  # through the same nginx, from another address
    page = neighbour.submit("/accounts/login/", {"login": "nobody-else", "password": "wrong!"})
    assert page.status == 200
    assert LOCKED not in page.text


# Body limits


def _post(site: Site, path: str, size: int) -> Response:
    body = b"x" * size
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(size)}
    return Browser(site, "127.0.0.5").request("POST", path, body=body, headers=headers)


def _declare(site: Site, path: str, size: int) -> Response:
    """Send only the headers of a `size`-byte POST and wait 5 s for an answer: only a server
    that refuses the body on its declared length answers before the body comes."""
    conn = http.client.HTTPSConnection(
        "localhost", site.nginx.https_port, context=site.tls, timeout=5
    )
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        answer = conn.getresponse()
        return Response(answer.status, answer.headers, answer.read())
    finally:
        conn.close()


def test_nginx_refuses_a_body_too_big_before_reading_it_with_the_sites_413_page(site):
    response = _declare(site, "/accounts/login/", 300 * 1024)
    assert response.status == 413
    assert "That was too much to send" in response.text  # the site's page, from the app
    assert "(256 KB)" in response.text
    assert "Strict-Transport-Security" in response.headers
    # A body that is sent gets the same page (from nginx or the app, whichever sees it first).
    response = _post(site, "/accounts/login/", 300 * 1024)
    assert (response.status, "(256 KB)" in response.text) == (413, True)


def test_the_admin_takes_bodies_up_to_6_mb_and_no_more(site):
    allowed = _post(site, "/admin/login/", 1024 * 1024)
    assert allowed.status == 403  # through nginx and the app: refused for its missing CSRF token
    refused = _declare(site, "/admin/login/", 7 * 1024 * 1024)
    assert refused.status == 413
    assert "(6144 KB)" in refused.text


# Static files


def test_static_files_are_cached_long_by_nginx_and_browsers(site):
    browser = Browser(site, "127.0.0.2")
    css = re.search(r'href="(/static/css/site\.[0-9a-f]+\.css)"', browser.get("/").text).group(1)
    first = browser.get(css + "?probe=css-1", **{"Accept-Encoding": "gzip, br"})
    second = browser.get(css + "?probe=css-2", **{"Accept-Encoding": "gzip, br"})
    assert first.status == second.status == 200
    assert "immutable" in second.headers["Cache-Control"]
    assert int(re.search(r"max-age=(\d+)", second.headers["Cache-Control"]).group(1)) >= 31536000
    assert second.headers["Content-Encoding"] == "br"
    assert _cache(site.nginx.log_line("probe=css-2")) == "HIT"


# The micro-cache


def test_anonymous_policy_pages_come_from_the_micro_cache_one_copy_per_encoding(site):
    browser = Browser(site, "127.0.0.6")
    pages = {}
    for encoding, asked in (("br", "gzip, deflate, br, zstd"), ("gzip", "gzip"), ("", "")):
        for n in (1, 2):
            marker = f"probe=enc-{encoding or 'none'}-{n}"
            page = browser.get(f"/privacy/?{marker}", **{"Accept-Encoding": asked})
            assert page.status == 200
            assert page.headers.get("Content-Encoding", "") == encoding
            pages[encoding] = page.text
        assert _cache(site.nginx.log_line(f"probe=enc-{encoding or 'none'}-2")) == "HIT"
    assert pages["br"] == pages["gzip"] == pages[""]
    assert "Signed in as" not in pages[""]


def test_the_micro_cache_revalidates_with_the_etag_and_answers_304(site):
    browser = Browser(site, "127.0.0.6")
    page = browser.get("/privacy/versions/?probe=etag-1")
    etag = page.headers["ETag"]
    assert etag.startswith('"')  # strong
    time.sleep(3.2)  # past the 2 s (3 at most: nginx counts whole seconds) it holds a page
    again = browser.get("/privacy/versions/?probe=etag-2")
    assert _cache(site.nginx.log_line("probe=etag-2")) == "REVALIDATED"
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "no-cache"  # browsers revalidate every time
    conditional = browser.get("/privacy/versions/?probe=etag-3", **{"If-None-Match": etag})
    assert conditional.status == 304


def test_a_session_cookie_bypasses_the_micro_cache_both_ways(site, person):
    member = Browser(site, "127.0.0.7")
    assert member.submit("/accounts/login/", {"login": person, "password": PASSWORD}).status == 302
    assert "__Host-sessionid" in member.cookies
    visitor = Browser(site, "127.0.0.8")
    for n in range(3):
        page = visitor.get(f"/privacy/?probe=anon-{n}")
        assert "Signed in as" not in page.text
        page = member.get(f"/privacy/?probe=member-{n}")
        assert f"Signed in as <strong>{person}</strong>" in page.text
        assert _cache(site.nginx.log_line(f"probe=member-{n}")) == "BYPASS"
    assert _cache(site.nginx.log_line("probe=anon-2")) == "HIT"
    # A cookie by the session's name but from a stranger still bypasses (it may be valid).
    page = Browser(site, "127.0.0.8", cookies={"__Host-sessionid": "x"}).get("/privacy/?probe=s")
    assert _cache(site.nginx.log_line("probe=s")) == "BYPASS"


# The Observatory


def test_the_mdn_http_observatory_grades_the_site_a_plus(site):
    preload = site.folder / "observatory-ports.mjs"
    preload.write_text(PORT_MAP)
    ports = {"80": site.nginx.http_port, "443": site.nginx.https_port}
    result = subprocess.run(
        ["node", "--dns-result-order=ipv4first", "--import", preload.as_uri(),
         str(OBSERVATORY), "localhost"],
        env={**os.environ, "NODE_EXTRA_CA_CERTS": str(site.nginx.cert),
             "OBSERVATORY_PORTS": json.dumps(ports)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    failed = {name: test["result"] for name, test in report["tests"].items() if not test["pass"]}
    assert (report["scan"]["grade"], failed) == ("A+", {}), json.dumps(report["scan"], indent=1)
    # It really went through nginx's redirect and the trusted certificate.
    assert report["tests"]["redirection"]["result"] == "redirection-to-https"
    assert report["tests"]["redirection"]["route"] == ["http://localhost/", "https://localhost/"]


# Publishing, and the worker


def test_a_publish_shows_through_the_micro_cache_within_5_seconds(site, person):
    browser = Browser(site, "127.0.0.9")
    # Until nginx stores the page afresh (or renews it), so it holds it as long as it can.
    for n in range(150):
        before = browser.get(f"/privacy/?probe=before-{n}")
        if _cache(site.nginx.log_line(f"probe=before-{n}")) != "HIT":
            break
        time.sleep(0.1)
    else:
        raise AssertionError("nginx kept the page for more than 15 s")
    current = int(re.search(r"Version (\d+)", before.text).group(1))
    browser.get("/privacy/?probe=before-hit")
    assert _cache(site.nginx.log_line("probe=before-hit")) == "HIT"  # the cache holds it

    text = (ROOT / "policy/seed/privacy-v1.md").read_text()
    policy = site.folder / "v-next.md"
    policy.write_text(text + "\n\n## Deployment\n\nPublished behind nginx, seen at once.\n")
    published = site.honcho(
        "run", "python", "manage.py", "publish_policy", str(policy), "--material",
        "--summary", "Said where the site runs.",
    )  # fmt: skip
    assert published.returncode == 0, published.stderr[-3000:]
    (published_at,) = site.sql(
        f"SELECT published_at FROM {PolicyVersion._meta.db_table} WHERE number = %s", current + 1
    )[0]

    seen = None
    for n in range(60):
        page = browser.get(f"/privacy/?probe=after-publish-{n}")
        if "Published behind nginx, seen at once." in page.text:
            seen = datetime.now(UTC)
            break
        time.sleep(0.1)
    assert seen is not None
    assert (seen - published_at).total_seconds() <= 5
    assert f"Version {current + 1}" in page.text

    # The publish queued the notices; the db_worker that honcho started sends them.
    notice = _mail_to(site.folder / "mail", "dana@example.com", "Our privacy policy changed")
    assert notice["Auto-Submitted"] == "auto-generated"


# systemd


def _units(folder: Path) -> list[Path]:
    """deploy/systemd's units, with the code where this checkout is and the settings in
    `folder`/env."""
    rendered = []
    for unit in sorted((ROOT / "deploy" / "systemd").iterdir()):
        text = unit.read_text()
        for old, new in (("/srv/pamedspa", str(ROOT)), ("/etc/pamedspa/env", f"{folder}/env")):
            assert old in text or unit.suffix == ".timer", f"{unit.name} has no {old}"
            text = text.replace(old, new)
        (folder / unit.name).write_text(text)
        rendered.append(folder / unit.name)
    return rendered


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_the_systemd_units_are_valid(tmp_path):
    (tmp_path / "env").touch()
    units = _units(tmp_path)
    names = {unit.name for unit in units}
    assert {"pamedspa-web.service", "pamedspa-worker@.service"} <= names
    for job in ("pamedspa-clearsessions", "pamedspa-prune-tasks"):
        assert {f"{job}.service", f"{job}.timer"} <= names
    # A template is checked through an instance of it.
    (tmp_path / "pamedspa-worker@1.service").write_text(
        (tmp_path / "pamedspa-worker@.service").read_text()
    )
    checked = [unit.name for unit in units if "@." not in unit.name] + ["pamedspa-worker@1.service"]
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *checked],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    # Unknown keys and bad values are only warnings, on stderr: none is allowed either.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_timers_commands_run_against_the_deployment(site, tmp_path):
    for unit in _units(tmp_path):
        if unit.suffix == ".timer":
            service = tmp_path / unit.name.replace(".timer", ".service")
            command = re.search(r"^ExecStart=(.+)$", service.read_text(), re.M).group(1)
            result = site.honcho("run", *shlex.split(command))
            assert result.returncode == 0, f"{service.name}: {result.stdout}{result.stderr}"
