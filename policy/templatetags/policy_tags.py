"""Template tags for every page: links to the privacy policy, and a contact address that
spambots cannot read."""

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.safestring import mark_safe

from ..models import PRIVACY
from .links import link

register = template.Library()


@register.simple_tag
def privacy_url(name: str = "current") -> str:
    """The address of a privacy policy page, e.g. {% privacy_url "versions" %}.

    A tag rather than a context variable: error pages (400, 403, 500, 503) are rendered without
    context processors, and they link to the policy too.
    """
    return link(f"policy:{name}", PRIVACY)


def _entities(text: str) -> str:
    return "".join(f"&#{ord(character)};" for character in text)


@register.simple_tag
def contact_email_link() -> str:
    """PRIVACY_CONTACT_EMAIL as a mailto: link written entirely in HTML character references.

    Browsers show and follow it as usual, with JavaScript off too; harvesters that scan the page
    source for "name@domain" find nothing.
    """
    address = _entities(settings.PRIVACY_CONTACT_EMAIL)
    # Safe: every character of the address is a numeric character reference.
    return mark_safe(f'<a href="{_entities("mailto:")}{address}">{address}</a>')  # nosec B308 B703


@register.filter
def machine_time(value) -> str:
    """A date and time for machines (`<time datetime>`, meta tags): ISO 8601 to the second.

    Django's `date:'c'` keeps microseconds, which HTML's `datetime` attribute refuses (at most
    three decimals).
    """
    if not value:
        return ""
    return timezone.localtime(value).isoformat(timespec="seconds")
