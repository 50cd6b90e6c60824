"""URLs of one policy document, mounted under its slug (e.g. /privacy/)."""

from django.db import transaction
from django.urls import path
from django.views.decorators.http import require_safe

from . import views
from .caching import shared_when_anonymous

app_name = "policy"

urlpatterns = [
    path("", views.current, name="current"),
    path("versions/", views.version_list, name="versions"),
    path("versions/<int:number>/", views.version_detail, name="version"),
    path("versions/<int:a>/compare/<int:b>/", views.compare, name="compare"),
    path("versions/<int:number>/changes/", views.changes, name="changes"),
    path("versions.json", views.versions_json, name="versions_json"),
    path(
        "feed/",
        require_safe(transaction.non_atomic_requests(shared_when_anonymous(views.VersionFeed()))),
        name="feed",
    ),
    path("review/", views.review, name="review"),
    path("contact/", views.contact, name="contact"),
]
