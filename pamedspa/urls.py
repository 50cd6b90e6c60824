"""Top-level URLs: the home page, accounts, admin, health check, then policy documents by slug."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView, TemplateView

from accounts.urls import privacy_request_patterns
from accounts.views.account import gpc_support
from pamedspa.health import healthz

# Every rate limit's answer, allauth's included: the 429 page with Retry-After.
handler429 = "pamedspa.errors.too_many_requests"
# A database outage is a 503 for everyone, wherever it was noticed.
handler500 = "pamedspa.errors.server_error"

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("healthz/", healthz, name="healthz"),
    # Where password managers look for the page that changes a password (W3C change-password URL).
    path(".well-known/gpc.json", gpc_support, name="well_known_gpc"),
    path(
        ".well-known/change-password",
        RedirectView.as_view(pattern_name="account_change_password"),
        name="well_known_change_password",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("privacy/request/", include(privacy_request_patterns)),
    # Last, so a document slug never shadows the routes above.
    path("<slug:document>/", include("policy.urls")),
]
