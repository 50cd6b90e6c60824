"""The site's WSGI app plus one bare view (no database, no template): the benchmark's ceiling.

The bare view sits behind the same middleware as every real page, so the ratio of a page to
it measures what the page itself costs.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pamedspa.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from pamedspa import urls  # noqa: E402


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


urls.urlpatterns.insert(0, path("__bench__/bare/", bare))


# The same view with a body the size of /privacy/'s, to show what the bytes alone cost.
BODY = b"x" * 24_000


def bare_sized(request):
    return HttpResponse(BODY, content_type="text/html")


urls.urlpatterns.insert(0, path("__bench__/bare-24k/", bare_sized))
