"""The site's fixed addresses, reversed once per process instead of on every page.

Every page links to the same handful of pages (the header's account links, the footer's policy
links), and Django's `reverse` walks the URL patterns each time: about a twentieth of a
millisecond, a dozen times a page. `link` keeps each answer, keyed by everything `reverse`
depends on besides its arguments (the script prefix and the URLconf), so a test or a deployment
under a sub-path gets its own.

    {% load links %}<a href="{% link 'account_login' %}">
"""

from functools import lru_cache

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


@register.simple_tag(name="link")
def link(name: str, *args: str | int) -> str:
    """reverse(name, args=args), computed once for each script prefix and URLconf."""
    return _reverse(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF, name, args)


@lru_cache(maxsize=512)
def _reverse(prefix: str, urlconf: str, name: str, args: tuple) -> str:
    # `prefix` is part of the key only: reverse() reads the same script prefix itself.
    return reverse(name, urlconf=urlconf, args=args or None)
