"""The cookie table on the privacy policy page: generated from the live settings, kept in step."""

import html
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse

from policy.cookies import cookies_in_use, only_essential
from tests.tables import table_rows

pytestmark = pytest.mark.django_db

CURRENT = reverse("policy:current", args=["privacy"])
NO_BANNER = "we do not ask for consent and show no cookie banner"
OPTIONAL = "Cookies marked “No” are optional"


def cookie_rows(client) -> list[list[str]]:
    """The cells of each row of the cookie table, as text."""
    return table_rows(client.get(CURRENT).content.decode(), start='id="cookies-title"')


def cookie_section(client) -> str:
    page = html.unescape(client.get(CURRENT).content.decode())
    return page[page.index("Cookies this site sets") :]


def test_the_policy_page_lists_one_row_per_cookie_in_use(client, privacy):
    rows = cookie_rows(client)
    assert [row[0] for row in rows] == [cookie.name for cookie in cookies_in_use()]
    assert len(rows) == len(cookies_in_use()) == 2


def test_the_table_names_the_session_and_csrf_cookies_from_the_settings(client, privacy, settings):
    session, csrf = cookie_rows(client)
    assert session[0] == settings.SESSION_COOKIE_NAME
    assert csrf[0] == settings.CSRF_COOKIE_NAME
    assert "Keeps you signed in" in session[1]
    assert "cross-site request forgery" in csrf[1]
    assert session[3] == csrf[3] == "Yes"


def test_the_table_shows_the_default_lifetimes(client, privacy, settings):
    assert (settings.SESSION_COOKIE_AGE, settings.CSRF_COOKIE_AGE) == (14 * 86400, 364 * 86400)
    session, csrf = cookie_rows(client)
    assert session[2].startswith("14 days, or until you close your browser")
    assert "“Remember me”" in session[2]
    assert csrf[2] == "364 days"


def test_with_only_essential_cookies_the_page_says_there_is_no_banner(client, privacy):
    assert only_essential()
    section = cookie_section(client)
    assert NO_BANNER in section
    assert OPTIONAL not in section


def test_the_table_follows_the_cookie_settings(client, privacy, settings):
    settings.SESSION_COOKIE_NAME = "__Host-sid"
    settings.SESSION_COOKIE_AGE = 86400 * 7
    settings.CSRF_COOKIE_NAME = "__Host-csrf"
    settings.CSRF_COOKIE_AGE = 86400 * 365
    session, csrf = cookie_rows(client)
    assert session[0] == "__Host-sid"
    assert session[2].startswith("7 days, or until you close your browser")
    assert csrf[0] == "__Host-csrf"
    assert csrf[2] == "1 year"


def test_a_session_that_ends_with_the_browser_says_so(client, privacy, settings):
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    settings.CSRF_COOKIE_AGE = None
    session, csrf = cookie_rows(client)
    assert session[2] == "until you close your browser"
    assert csrf[2] == "until you close your browser"


def test_trusting_a_browser_for_two_factor_adds_an_optional_cookie(client, privacy, settings):
    settings.MFA_TRUST_ENABLED = True
    rows = cookie_rows(client)
    assert len(rows) == 3
    name, purpose, lifetime, essential = rows[2]
    assert name == "mfa_trusted"
    assert "two-factor authentication" in purpose
    assert lifetime == "14 days"
    assert essential == "No"
    section = cookie_section(client)
    assert OPTIONAL in section
    assert NO_BANNER not in section


def test_the_two_factor_cookie_follows_its_name_and_age_settings(client, privacy, settings):
    settings.MFA_TRUST_ENABLED = True
    settings.MFA_TRUST_COOKIE_NAME = "trusted_device"
    settings.MFA_TRUST_COOKIE_AGE = 86400 * 30
    name, _, lifetime, _ = cookie_rows(client)[2]
    assert (name, lifetime) == ("trusted_device", "30 days")


def test_the_page_etag_changes_when_a_cookie_setting_changes(client, privacy, settings):
    first = client.get(CURRENT)
    assert client.get(CURRENT, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == (
        HTTPStatus.NOT_MODIFIED
    )
    settings.SESSION_COOKIE_AGE = 86400 * 7
    second = client.get(CURRENT, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == HTTPStatus.OK
    assert second["ETag"] != first["ETag"]
    settings.MFA_TRUST_ENABLED = True
    third = client.get(CURRENT, HTTP_IF_NONE_MATCH=second["ETag"])
    assert third.status_code == HTTPStatus.OK
    assert third["ETag"] not in {first["ETag"], second["ETag"]}
    assert "mfa_trusted" in third.content.decode()


def test_the_page_etag_changes_when_a_cookie_is_renamed(client, privacy, settings):
    first = client.get(CURRENT)["ETag"]
    settings.SESSION_COOKIE_NAME = "__Host-sid"
    assert client.get(CURRENT)["ETag"] != first


def test_the_table_is_shown_only_on_the_current_policy_page(client, privacy):
    version_page = client.get(reverse("policy:version", args=["privacy", 1])).content.decode()
    assert "Cookies this site sets" not in version_page
    assert "Cookies this site sets" in client.get(CURRENT).content.decode()


# Site bugs found while writing these tests.


def test_a_two_factor_cookie_age_given_as_a_timedelta_is_shown(client, privacy, settings):
    settings.MFA_TRUST_ENABLED = True
    settings.MFA_TRUST_COOKIE_AGE = timedelta(days=30)
    name, _, lifetime, _ = cookie_rows(client)[2]
    assert (name, lifetime) == ("mfa_trusted", "30 days")


def test_a_language_cookie_without_an_age_is_a_session_cookie(client, privacy, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.locale.LocaleMiddleware"]
    settings.LANGUAGE_COOKIE_AGE = None
    name, _, lifetime, essential = cookie_rows(client)[2]
    assert (name, lifetime, essential) == (
        settings.LANGUAGE_COOKIE_NAME,
        "until you close your browser",
        "No",
    )
