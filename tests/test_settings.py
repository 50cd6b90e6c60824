"""Settings come from the environment; production settings pass Django's deploy checklist."""

import json
import re
import subprocess
import time
from http.cookiejar import CookieJar
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pytest

from tests.processes import ROOT, child_env, free_port, run_child

SECRET = "x" * 20 + "-production-secret-for-tests-" + "y" * 20
PRODUCTION = {
    "DJANGO_DEBUG": "off",
    "DJANGO_SECRET_KEY": SECRET,
    "DJANGO_ALLOWED_HOSTS": "pamedspa.example",
    "DJANGO_SITE_URL": "https://pamedspa.example",
    "DJANGO_ADMINS": "Office <office@pamedspa.example>",
}

SHOW = """
import json, django
from django.conf import settings
django.setup()
names = json.loads({names!r})
print(json.dumps({{name: getattr(settings, name, None) for name in names}}, default=str))
"""


def settings_under(names: list[str], **env: str) -> dict:
    result = run_child(["-c", SHOW.format(names=json.dumps(names))], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_settings_pass_the_deploy_checklist():
    result = run_child(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = run_child(["manage.py", "check"], DJANGO_DEBUG="off")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DJANGO_SECRET_KEY" in lines[0]


def test_debug_is_off_unless_asked_for():
    assert settings_under(["DEBUG"], DJANGO_SECRET_KEY=SECRET)["DEBUG"] is False


def test_production_cookies_are_secure_and_host_prefixed():
    values = settings_under(
        [
            "SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME", "MESSAGE_STORAGE",
            "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
            "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
            "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT",
        ],
        **PRODUCTION,
    )  # fmt: skip
    assert values["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert values["CSRF_COOKIE_NAME"].startswith("__Host-")
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"]
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["MESSAGE_STORAGE"].endswith("SessionStorage")  # no unprefixed messages cookie
    assert values["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SECURE_SSL_REDIRECT"]


def test_proxy_ssl_header_is_configurable():
    values = settings_under(
        ["SECURE_PROXY_SSL_HEADER"],
        DJANGO_SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO=https",
        **PRODUCTION,
    )
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_default_database_is_sqlite_in_the_project_folder():
    db = settings_under(["DATABASES"], DJANGO_DEBUG="on")["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(ROOT / "db.sqlite3")


def test_postgres_url_gets_persistent_checked_connections_and_a_connect_timeout():
    db = settings_under(
        ["DATABASES"], DATABASE_URL="postgres://app:pw@db.internal:5432/pamedspa", **PRODUCTION
    )["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["NAME"] == "pamedspa"
    assert db["CONN_MAX_AGE"] > 0
    assert db["CONN_HEALTH_CHECKS"] is True
    assert 1 <= db["OPTIONS"]["connect_timeout"] <= 10
    # Writes get one: pamedspa.middleware.AtomicWritesMiddleware.
    assert db["ATOMIC_REQUESTS"] is False


def test_redis_url_switches_cache_and_sessions():
    values = settings_under(
        ["CACHES", "SESSION_ENGINE"], REDIS_URL="redis://127.0.0.1:6379/3", DJANGO_DEBUG="on"
    )
    assert values["CACHES"]["default"]["BACKEND"] == "pamedspa.cache.FailoverRedisCache"
    assert values["CACHES"]["default"]["LOCATION"] == "redis://127.0.0.1:6379/3"
    assert values["SESSION_ENGINE"].endswith("cached_db")


def test_without_redis_every_process_on_the_machine_shares_a_cache_folder(tmp_path):
    values = settings_under(
        ["CACHES", "SESSION_ENGINE"], DJANGO_DEBUG="on", DJANGO_CACHE_DIR=str(tmp_path)
    )
    assert values["CACHES"]["default"]["BACKEND"].endswith("FileBasedCache")
    assert values["CACHES"]["default"]["LOCATION"] == str(tmp_path)
    assert values["SESSION_ENGINE"].endswith("sessions.backends.db")


WRITE_AND_READ = """
import sys, django; django.setup()
from django.core.cache import cache
if sys.argv[1] == "write":
    cache.set("shared", "from another process", 60)
else:
    print(cache.get("shared"))
"""


def test_the_default_cache_is_shared_between_processes(tmp_path):
    """Rate limits and publishes hold across gunicorn's workers only if this is so."""
    env = {"DJANGO_DEBUG": "on", "DJANGO_CACHE_DIR": str(tmp_path / "cache")}
    assert run_child(["-c", WRITE_AND_READ, "write"], **env).returncode == 0
    read = run_child(["-c", WRITE_AND_READ, "read"], **env)
    assert read.stdout.strip() == "from another process", read.stderr


def test_the_deploy_checklist_refuses_a_cache_folder_others_can_write(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    env = {**PRODUCTION, "DJANGO_CACHE_DIR": str(folder)}
    result = run_child(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)
    assert result.returncode != 0
    assert "policy.E005" in result.stderr and "writable by other users" in result.stderr
    folder.chmod(0o700)
    result = run_child(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)
    assert result.returncode == 0, result.stderr


CHECK_WITH_LOCAL_MEMORY = """
import django
from django.conf import settings
django.setup()
settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
from policy.checks import cache_is_shared
for error in cache_is_shared(None):
    print(error.id, error.msg)
"""


def test_the_deploy_checklist_refuses_a_cache_each_process_keeps_alone():
    result = run_child(["-c", CHECK_WITH_LOCAL_MEMORY], **PRODUCTION)
    assert "policy.E004" in result.stdout, result.stderr
    assert "not shared between processes" in result.stdout


def test_the_deploy_checklist_warns_when_server_errors_reach_no_one():
    env = {**PRODUCTION, "DJANGO_ADMINS": ""}
    result = run_child(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)
    assert result.returncode != 0
    assert "policy.W001" in result.stderr and "reach no one" in result.stderr


def test_admins_are_read_from_the_environment():
    values = settings_under(
        ["ADMINS"], DJANGO_DEBUG="on", DJANGO_ADMINS="Office <office@x.example>, it@x.example"
    )
    assert values["ADMINS"] == [["Office", "office@x.example"], ["it@x.example", "it@x.example"]]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("consolemail://", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        (
            "filemail:///var/mail/pamedspa",
            {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
             "EMAIL_FILE_PATH": "/var/mail/pamedspa"},
        ),
        (
            "smtp://user:pw@mail.example:587",
            {"EMAIL_HOST": "mail.example", "EMAIL_PORT": 587, "EMAIL_HOST_USER": "user",
             "EMAIL_HOST_PASSWORD": "pw", "EMAIL_USE_SSL": False},
        ),
        (
            "smtps://user:pw@mail.example:465",
            {"EMAIL_HOST": "mail.example", "EMAIL_PORT": 465, "EMAIL_USE_SSL": True,
             "EMAIL_USE_TLS": False},
        ),
        ("smtp+tls://user:pw@mail.example:587", {"EMAIL_USE_TLS": True, "EMAIL_USE_SSL": False}),
    ],
)  # fmt: skip
def test_email_url_selects_the_mail_backend(url, expected):
    values = settings_under(list(expected), EMAIL_URL=url, DJANGO_DEBUG="on")
    assert values == expected


def test_filemail_writes_each_message_to_the_folder(tmp_path):
    script = (
        "import django; django.setup(); from django.core.mail import send_mail;"
        "send_mail('Hello', 'Body', 'a@example.com', ['b@example.com'])"
    )
    result = run_child(["-c", script], EMAIL_URL=f"filemail://{tmp_path}", DJANGO_DEBUG="on")
    assert result.returncode == 0, result.stderr
    files = list(tmp_path.iterdir())
    assert len(files) == 1
    assert "Subject: Hello" in files[0].read_text()


@pytest.mark.parametrize(
    ("site_url", "code", "says"),
    [
        ("", "policy.E001", "DJANGO_SITE_URL is not set"),
        ("http://pamedspa.example", "policy.E002", "is not an https:// address"),
        ("https://127.0.0.1:8000", "policy.E003", "names this machine"),
        ("https://localhost", "policy.E003", "names this machine"),
        ("https://[::1]:8443", "policy.E003", "names this machine"),
    ],
)
def test_the_deploy_checklist_refuses_a_site_url_mail_cannot_link_to(site_url, code, says):
    env = {**PRODUCTION, "DJANGO_SITE_URL": site_url}
    result = run_child(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)
    assert result.returncode != 0
    assert code in result.stderr and says in result.stderr


def test_the_site_url_check_is_for_deployments_only():
    """A plain `check` (run by migrate, and so by `make serve`) does not stop a local server."""
    result = run_child(["manage.py", "check"], **{**PRODUCTION, "DJANGO_SITE_URL": ""})
    assert result.returncode == 0, result.stderr


def test_mail_links_follow_the_scheme_the_site_is_served_with():
    https = settings_under(["ACCOUNT_DEFAULT_HTTP_PROTOCOL"], **PRODUCTION)
    plain = settings_under(["ACCOUNT_DEFAULT_HTTP_PROTOCOL"], **PRODUCTION, DJANGO_HTTPS="off")
    assert (https, plain) == (
        {"ACCOUNT_DEFAULT_HTTP_PROTOCOL": "https"},
        {"ACCOUNT_DEFAULT_HTTP_PROTOCOL": "http"},
    )


def test_senders_show_the_site_name_and_notices_come_from_no_reply():
    names = ["DEFAULT_FROM_EMAIL", "NOTICE_FROM_EMAIL", "SERVER_EMAIL"]
    assert settings_under(names, **PRODUCTION) == {
        "DEFAULT_FROM_EMAIL": "New Image MedSpa <privacy@pamedspa.biz>",
        "NOTICE_FROM_EMAIL": "New Image MedSpa <no-reply@pamedspa.example>",
        "SERVER_EMAIL": "New Image MedSpa <privacy@pamedspa.biz>",
    }
    chosen = settings_under(
        names[:2], **PRODUCTION, DJANGO_NOTICE_FROM_EMAIL="Privacy Team <notices@pamedspa.example>"
    )
    assert chosen["NOTICE_FROM_EMAIL"] == "Privacy Team <notices@pamedspa.example>"


def test_make_run_links_mail_to_the_port_it_serves(tmp_path):
    """`make run PORT=n` serves on n, and mail sent with it links to n too."""
    port = free_port()
    env = child_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", EMAIL_URL="consolemail://")
    env.pop("DJANGO_ENV_FILE")  # as a developer runs it: `make run` writes and reads .env
    server = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        opener = build_opener(HTTPCookieProcessor(CookieJar()))
        page = _wait_for(opener, base + "/privacy/contact/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"csrfmiddlewaretoken": token, "name": "Vera", "email": "vera@example.org",
                "subject": "Which port?", "message": "Hello.", "website": ""}  # fmt: skip
        request = Request(base + "/privacy/contact/", data=urlencode(form).encode())
        request.add_header("Referer", base + "/privacy/contact/")
        assert opener.open(request, timeout=30).status == 200
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert f"Handle it in the admin inbox: {base}/admin/policy/contactmessage/" in output


def _wait_for(opener, url: str) -> str:
    deadline = time.monotonic() + 90
    while True:
        try:
            return opener.open(url, timeout=5).read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_gunicorn_freezes_what_the_master_loaded_before_each_fork():
    """Workers' full garbage collections then skip the app's long-lived objects (make bench)."""
    import gc
    import runpy

    config = runpy.run_path(str(ROOT / "pamedspa" / "gunicorn.conf.py"))
    assert config["preload_app"] is True  # what is frozen is the whole app
    before = gc.get_freeze_count()
    try:
        config["pre_fork"](server=None, worker=None)
        assert gc.get_freeze_count() > max(before, 10_000)
    finally:
        gc.unfreeze()
