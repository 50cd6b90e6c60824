"""The admin site (login through allauth, staff MFA) and the admin of topics and preferences."""

import csv

from allauth.account.decorators import secure_admin_login
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .models import PreferenceChange, Subscription, Topic


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


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "shares_with_partners", "opted_in", "position"]
    list_editable = ["is_active", "position"]
    list_filter = ["is_active", "shares_with_partners"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["export_opted_in"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_opt_in_counts()

    @admin.display(description="opted in", ordering="opted_in")
    def opted_in(self, topic: Topic) -> int:
        return topic.opted_in

    @admin.action(description="Export the addresses opted in to the selected topics as CSV")
    def export_opted_in(self, request: HttpRequest, queryset) -> HttpResponse:
        rows = (
            Subscription.objects.filter(topic__in=queryset, opted_in=True, user__is_active=True)
            .select_related("topic", "user")
            .order_by("topic__position", "user__username")
        )
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response.headers["Content-Disposition"] = 'attachment; filename="opted-in.csv"'
        writer = csv.writer(response)
        writer.writerow(["topic", "username", "email", "since"])
        for row in rows:
            writer.writerow(
                [
                    row.topic.slug,
                    row.user.get_username(),
                    row.user.email,
                    row.updated_at.isoformat(),
                ]
            )
        return response


@admin.register(PreferenceChange)
class PreferenceChangeAdmin(admin.ModelAdmin):
    """Part of the consent ledger: read, filter, never edit or delete."""

    list_display = ["changed_at", "user", "topic", "opted_in", "method", "ip_address"]
    list_filter = ["topic", "opted_in", "method"]
    list_select_related = ["user", "topic"]
    search_fields = ["user__username", "user__email"]
    date_hierarchy = "changed_at"
    readonly_fields = [
        "user", "subject_id", "topic", "opted_in", "changed_at", "method", "ip_address",
        "user_agent",
    ]  # fmt: skip

    def get_fields(self, request, obj=None):
        return self.readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
