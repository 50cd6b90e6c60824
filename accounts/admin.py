"""Admin for preference topics and the preference ledger (the admin site itself: sites.py)."""

from django.contrib import admin
from django.http import HttpRequest, StreamingHttpResponse

from policy.admin.ledger import LedgerAdmin
from policy.spreadsheets import csv_download

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

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.export_mailing_list")

    @admin.display(description="opted in", ordering="opted_in")
    def opted_in(self, topic: Topic) -> int:
        return topic.opted_in

    @admin.action(
        description="Export the addresses opted in to the selected topics as CSV",
        permissions=["export"],
    )
    def export_opted_in(self, request: HttpRequest, queryset) -> StreamingHttpResponse:
        rows = (
            Subscription.objects.filter(topic__in=queryset, opted_in=True, user__is_active=True)
            .select_related("topic", "user")
            .order_by("topic__position", "user__username")
        )
        return csv_download(
            "opted-in.csv",
            ["topic", "username", "email", "since"],
            (
                (
                    row.topic.slug,
                    row.user.get_username(),
                    row.user.email,
                    row.updated_at.isoformat(),
                )
                for row in rows.iterator(chunk_size=2000)
            ),
        )


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
