"""Template context shared by every page: the site name, policy change notices, review banner."""

from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .caching import PRIVACY, document_state
from .models import Acceptance


def site(request: HttpRequest) -> dict:
    return {
        "site_name": settings.SITE_NAME,
        "policy_announcement": SimpleLazyObject(lambda: document_state(PRIVACY).announcement()),
        "policy_review_due": SimpleLazyObject(lambda: review_due(request)),
    }


def review_due(request: HttpRequest) -> bool:
    """Whether the signed-in person has yet to review a material change (one query at most)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    material = document_state(PRIVACY).latest_material_number
    if material is None:
        return False
    accepted = Acceptance.objects.filter(user=user, version__document__slug=PRIVACY).aggregate(
        number=Max("version__number")
    )["number"]
    return (accepted or 0) < material
