"""Error pages that need more than a template: the 429 for every rate limit, with the
`Retry-After` it needs, and the 500 that is really a 503 when the database is away.

allauth answers a rate limit through `ROOT_URLCONF.handler429` (see pamedspa/urls.py); the
site's own forms answer through allauth's `consume_or_429`, so every 429 comes from here.
"""

import sys

from allauth.account import app_settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import defaults

from pamedspa.health import UNAVAILABLE, database_unavailable

# Which limit each page counts against (allauth's action names, and the site's own).
# (Names of pages and limits, not passwords: bandit reads "password" in three of them.)
ACTIONS = {  # nosec B105
    "account_login": "login",
    "account_signup": "signup",
    "account_reset_password": "reset_password",
    "account_reset_password_from_key": "reset_password_from_key",
    "account_email": "manage_email",
    "account_change_password": "change_password",
    "account_reauthenticate": "reauthenticate",
    "account_username_reminder": "username_reminder",
    "account_resend_confirmation": "confirm_email",
    "privacy_request": "privacy_request",
    "contact": "contact",
}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def retry_after(request: HttpRequest) -> int:
    """Seconds to wait: the shortest window among the page's limits, when it is known.

    That is when the soonest of its limits can let a request through again; a stricter limit
    that is still full answers with another 429 and the same advice.
    """
    match = request.resolver_match
    action = ACTIONS.get(match.url_name if match else "")
    windows = [_seconds(rate.split("/")[1]) for rate in _rates(action)]
    return min(windows, default=60)


def _rates(action: str | None) -> list[str]:
    if not action:
        return []
    return [r for r in (app_settings.RATE_LIMITS or {}).get(action, "").split(",") if r]


def _seconds(duration: str) -> int:
    amount = duration[:-1]
    return int(float(amount) if amount else 1) * UNITS[duration[-1]]


def too_many_requests(request: HttpRequest) -> HttpResponse:
    seconds = retry_after(request)
    response = render(request, "429.html", {"retry_minutes": -(-seconds // 60)}, status=429)
    response.headers["Retry-After"] = str(seconds)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """500, unless the error is a database that cannot be reached: then the 503 page.

    Django calls this while it handles the exception, wherever it was raised: in a view, or
    in a middleware that loads the session or the signed-in user before any view runs.
    """
    if isinstance(sys.exception(), UNAVAILABLE):
        return database_unavailable(request)
    return defaults.server_error(request)
