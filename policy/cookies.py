"""The cookies this site sets, read from the live settings, for the table on the policy page."""

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from allauth.mfa import app_settings as mfa_settings
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


@dataclass(frozen=True)
class Cookie:
    name: str
    purpose: str
    lifetime: str
    essential: bool


def _duration(age: int | timedelta | None) -> str:
    """A cookie lifetime in words; no age means it ends with the browser session."""
    if not age:
        return "until you close your browser"
    seconds = int(age.total_seconds()) if isinstance(age, timedelta) else int(age)
    for unit, size in (("year", 365 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and (seconds % size == 0 or unit in {"day", "hour", "minute"}):
            count = round(seconds / size, 1)
            count = int(count) if count == int(count) else count
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


@lru_cache(maxsize=1)
def cookies_in_use() -> tuple[Cookie, ...]:
    """Every cookie the current settings make the site set, and why (worked out once)."""
    cookies = [
        Cookie(
            name=settings.SESSION_COOKIE_NAME,
            purpose="Keeps you signed in and carries short messages between pages (such as "
            "“You have signed out”). Set when you sign in or submit a form.",
            lifetime=(
                "until you close your browser"
                if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
                else f"{_duration(settings.SESSION_COOKIE_AGE)}, or until you close your browser "
                "if you did not tick “Remember me”"
            ),
            essential=True,
        ),
        Cookie(
            name=settings.CSRF_COOKIE_NAME,
            purpose="Proves that a form you send really came from this site (protection against "
            "cross-site request forgery).",
            lifetime=_duration(settings.CSRF_COOKIE_AGE),
            essential=True,
        ),
    ]
    if "django.middleware.locale.LocaleMiddleware" in settings.MIDDLEWARE:
        cookies.append(
            Cookie(
                name=settings.LANGUAGE_COOKIE_NAME,
                purpose="Remembers the language you chose.",
                lifetime=_duration(settings.LANGUAGE_COOKIE_AGE),
                essential=False,
            )
        )
    if mfa_settings.TRUST_ENABLED:
        cookies.append(
            Cookie(
                name=mfa_settings.TRUST_COOKIE_NAME,
                purpose="Remembers that this browser passed two-factor authentication, so you are "
                "not asked for a code every time.",
                lifetime=_duration(mfa_settings.TRUST_COOKIE_AGE),
                essential=False,
            )
        )
    return tuple(cookies)


def only_essential() -> bool:
    """True when no consent banner is needed: every cookie is strictly necessary."""
    return all(cookie.essential for cookie in cookies_in_use())


@receiver(setting_changed)
def _forget_cookies(**kwargs) -> None:
    cookies_in_use.cache_clear()
