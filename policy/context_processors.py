"""Template context shared by every page: the site name, policy change notices, review banner."""

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .caching import snapshot_for
from .models import PRIVACY, PolicyVersion


def site(request: HttpRequest) -> dict:
    return {
        "site_name": settings.SITE_NAME,
        "policy_announcement": SimpleLazyObject(
            lambda: snapshot_for(request, PRIVACY).state.announcement()
        ),
        "policy_review_due": SimpleLazyObject(lambda: review_due(request)),
    }


def review_due(request: HttpRequest) -> PolicyVersion | None:
    """The first material version the signed-in person has yet to review (one query at most)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    versions = PolicyVersion.objects.filter(document__slug=PRIVACY)
    return versions.awaiting_review_by(user).order_by("number").first()
