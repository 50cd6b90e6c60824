"""Deployment checks for what Django cannot know: where the links in the site's mail point,
whether every process shares one cache, and whether server errors reach anyone."""

import ipaddress
import stat
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

HINT = "Set DJANGO_SITE_URL to the address people use, e.g. https://www.pamedspa.biz"


@register(Tags.security, deploy=True)
def site_url_is_public(app_configs, **kwargs) -> list[Error]:
    """Mail sent outside a request (notices, unsubscribe links) links to SITE_URL."""
    if settings.DEBUG:
        return []
    url = settings.SITE_URL
    parts = urlsplit(url)
    if not url:
        problem, code = "DJANGO_SITE_URL is not set: links in notices would point nowhere.", 1
    elif parts.scheme != "https" or not parts.hostname:
        problem, code = f"DJANGO_SITE_URL ({url}) is not an https:// address.", 2
    elif is_local_host(parts.hostname):
        problem, code = f"DJANGO_SITE_URL ({url}) names this machine, not the public site.", 3
    else:
        return []
    return [Error(problem, hint=HINT, id=f"policy.E00{code}")]


def is_local_host(host: str) -> bool:
    """Whether `host` names this machine (localhost, 127.0.0.1, ::1), not a public site."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Caches that belong to one process: gunicorn's workers would each count and keep their own.
PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}
FILE_CACHE = "django.core.cache.backends.filebased.FileBasedCache"


@register(Tags.caches, deploy=True)
def cache_is_shared(app_configs, **kwargs) -> list[Error]:
    """Rate limits and publishes hold only in a cache every process shares."""
    if settings.DEBUG:
        return []
    default = settings.CACHES["default"]
    if default["BACKEND"] in PER_PROCESS_CACHES:
        return [
            Error(
                f"The default cache ({default['BACKEND'].rsplit('.', 1)[-1]}) is not shared "
                "between processes: each gunicorn worker would count rate limits on its own "
                "(letting several times the limit through) and show a publish late.",
                hint="Remove the CACHES override, or set REDIS_URL.",
                id="policy.E004",
            )
        ]
    if default["BACKEND"] == FILE_CACHE:
        folder = Path(default["LOCATION"])
        if folder.exists() and folder.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return [
                Error(
                    f"The cache folder {folder} is writable by other users; its entries are "
                    "pickles, which run code when they are read.",
                    hint=f"chmod 700 {folder}, or set DJANGO_CACHE_DIR to a private folder.",
                    id="policy.E005",
                )
            ]
    return []


@register(Tags.security, deploy=True)
def errors_reach_someone(app_configs, **kwargs) -> list[Warning]:
    """A server error nobody hears about is never fixed."""
    if settings.DEBUG or settings.ADMINS or settings.SENTRY_DSN:
        return []
    return [
        Warning(
            "Server errors reach no one: DJANGO_ADMINS and SENTRY_DSN are both unset.",
            hint="Set DJANGO_ADMINS to the addresses to mail, or SENTRY_DSN.",
            id="policy.W001",
        )
    ]
