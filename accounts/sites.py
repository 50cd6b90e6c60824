"""The admin site: staff log in through allauth (rate limits, MFA), may be made to use MFA,
and find the privacy dashboard first.

It lives apart from admin.py on purpose: Django loads the default site lazily by importing
this class, and a module that also registered models would register them on a half-built site.
"""

from allauth.account.decorators import secure_admin_login
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path

from policy.dashboard import dashboard
from policy.views.staff import privacy_dashboard_view


def staff_mfa_satisfied(user) -> bool:
    """Whether `user` meets the staff two-factor rule (STAFF_MFA_REQUIRED)."""
    return not settings.STAFF_MFA_REQUIRED or is_mfa_enabled(user)


class SecureAdminSite(admin.AdminSite):
    site_header = "New Image MedSpa administration"
    site_title = "New Image MedSpa admin"
    index_title = "Site administration"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and staff_mfa_satisfied(request.user)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and user.is_active
            and user.is_staff
            and not staff_mfa_satisfied(user)
        ):
            messages.warning(
                request,
                "Staff accounts need two-factor authentication. Set up an authenticator app "
                "to use the admin.",
            )
            return redirect("mfa_activate_totp")
        # Anonymous visitors go to allauth's login page, with its rate limits and MFA.
        return secure_admin_login(super().login)(request, extra_context)

    def get_urls(self):
        dashboard_url = path(
            "privacy/", self.admin_view(privacy_dashboard_view), name="privacy_dashboard"
        )
        return [dashboard_url, *super().get_urls()]

    def index(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """The admin's front page, with the privacy dashboard first and what needs attention."""
        extra = {"privacy_attention": dashboard().attention, **(extra_context or {})}
        return super().index(request, extra)
