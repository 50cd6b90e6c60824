"""Deployment checks for what Django cannot know: where the links in the site's mail point."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, register

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
