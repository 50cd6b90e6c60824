"""Admin for preference topics and the preference ledger (the admin site itself: sites.py)."""

import csv

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from policy.admin import LedgerAdmin, spreadsheet_safe

from .models import PreferenceChange, Subscription, Topic


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
            user = row.user
            writer.writerow(
                [spreadsheet_safe(v) for v in (row.topic.slug, user.get_username(), user.email)]
                + [row.updated_at.isoformat()]
            )
        return response


@admin.register(PreferenceChange)
class PreferenceChangeAdmin(LedgerAdmin):
    """Part of the consent ledger: read, filter and export; never edit or delete."""

    list_display = ["changed_at", "user", "topic", "opted_in", "method", "ip_address"]
    list_filter = ["topic", "opted_in", "method"]
    list_select_related = ["user", "topic"]
    search_fields = ["user__username", "user__email"]
    date_hierarchy = "changed_at"
    readonly_fields = [
        "user", "subject_id", "topic", "opted_in", "changed_at", "method", "ip_address",
        "user_agent",
    ]  # fmt: skip
    csv_fields = [
        "changed_at", "user__username", "subject_id", "topic__slug", "opted_in", "method",
        "ip_address", "user_agent",
    ]  # fmt: skip
