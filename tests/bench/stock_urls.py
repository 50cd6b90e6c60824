"""The stock peer's URLs: allauth's, and the same bare view as the site's bench (no database,
no template)."""

from django.http import HttpResponse
from django.urls import include, path


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("__bench__/bare/", bare),
    path("accounts/", include("allauth.urls")),
]
