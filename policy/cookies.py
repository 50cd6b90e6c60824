"""The cookies this site sets, read from the live settings, for the table on the policy page."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Cookie:
    name: str
    purpose: str
    lifetime: str
    essential: bool


def _duration(seconds: int) -> str:
    days = seconds / 86400
    if days >= 365 and days % 365 == 0:
        years = int(days // 365)
        return f"{years} year{'s' if years > 1 else ''}"
    if days >= 1:
        return f"{days:g} day{'s' if days != 1 else ''}"
    return f"{seconds // 3600:g} hours"


def cookies_in_use() -> list[Cookie]:
    """Every cookie the current settings make the site set, and why."""
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
            lifetime=_duration(settings.CSRF_COOKIE_AGE) if settings.CSRF_COOKIE_AGE else "session",
            essential=True,
        ),
    ]
    if "django.middleware.locale.LocaleMiddleware" in settings.MIDDLEWARE:
        cookies.append(
            Cookie(
                name=settings.LANGUAGE_COOKIE_NAME,
                purpose="Remembers the language you chose.",
                lifetime=_duration(settings.LANGUAGE_COOKIE_AGE or 0) or "session",
                essential=False,
            )
        )
    if getattr(settings, "MFA_TRUST_ENABLED", False):
        cookies.append(
            Cookie(
                name=getattr(settings, "MFA_TRUST_COOKIE_NAME", "mfa_trusted"),
                purpose="Remembers that this browser passed two-factor authentication, so you are "
                "not asked for a code every time.",
                lifetime=_duration(getattr(settings, "MFA_TRUST_COOKIE_AGE", 14 * 86400)),
                essential=False,
            )
        )
    return cookies


def only_essential() -> bool:
    """True when no consent banner is needed: every cookie is strictly necessary."""
    return all(cookie.essential for cookie in cookies_in_use())
