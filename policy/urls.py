"""URLs of one policy document, mounted under its slug (e.g. /privacy/)."""

from django.urls import path
from django.views.decorators.http import require_safe

from .caching import shared_when_anonymous
from .views import contact, public, review

app_name = "policy"

urlpatterns = [
    path("", public.current, name="current"),
    path("versions/", public.version_list, name="versions"),
    path("versions/<int:number>/", public.version_detail, name="version"),
    path("versions/<int:a>/compare/<int:b>/", public.compare, name="compare"),
    path("versions/<int:number>/changes/", public.changes, name="changes"),
    path("versions.json", public.versions_json, name="versions_json"),
    path(
        "feed/",
        require_safe(shared_when_anonymous(public.VersionFeed())),
        name="feed",
    ),
    path("review/", review.review, name="review"),
    path("contact/", contact.contact, name="contact"),
]
