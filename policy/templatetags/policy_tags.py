"""Template tags for policy pages: a contact address that spambots cannot read."""

from django import template
from django.conf import settings
from django.utils.safestring import mark_safe

register = template.Library()


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
