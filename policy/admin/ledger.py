"""Admin for the consent ledger: read, filter and export; never add, edit or delete.

`LedgerAdmin` is the base of every ledger admin, the accounts app's preference ledger included.
"""

from django.contrib import admin
from django.http import HttpRequest, StreamingHttpResponse

from ..models import Acceptance, Choice
from ..spreadsheets import csv_download


@admin.action(description="Export the selected records as CSV", permissions=["export"])
def export_csv(modeladmin, request: HttpRequest, queryset) -> StreamingHttpResponse:
    """Stream the selected (or, with "select all", the filtered) records as CSV."""
    fields = modeladmin.csv_fields
    return csv_download(
        f"{modeladmin.model._meta.model_name}s.csv",
        fields,
        queryset.values_list(*fields).iterator(chunk_size=2000),
    )


class LedgerAdmin(admin.ModelAdmin):
    """The ledger is evidence: staff may read, filter and export it, never add, edit or delete."""

    actions = [export_csv]

    def has_export_permission(self, request: HttpRequest) -> bool:
        """Every ledger export, the preference ledger's too, needs this one permission."""
        return request.user.has_perm("policy.export_consent_records")

    def get_fields(self, request, obj=None):
        return self.readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Acceptance)
class AcceptanceAdmin(LedgerAdmin):
    list_display = ["accepted_at", "user", "version", "method", "ip_address"]
    list_filter = ["method", "version__document", "version"]
    list_select_related = ["user", "version__document"]
    search_fields = ["user__username", "user__email", "ip_address", "version_sha256"]
    date_hierarchy = "accepted_at"
    readonly_fields = [
        "user",
        "subject_id",
        "version",
        "version_sha256",
        "accepted_at",
        "method",
        "ip_address",
        "user_agent",
    ]
    csv_fields = [
        "accepted_at",
        "user__username",
        "subject_id",
        "version__document__slug",
        "version__number",
        "version_sha256",
        "method",
        "ip_address",
        "user_agent",
    ]


@admin.register(Choice)
class ChoiceAdmin(LedgerAdmin):
    list_display = ["chosen_at", "user", "purpose", "allowed", "version", "method"]
    list_filter = ["purpose", "allowed", "method", "version"]
    list_select_related = ["user", "version__document"]
    search_fields = ["user__username", "user__email", "purpose"]
    date_hierarchy = "chosen_at"
    readonly_fields = [
        "user",
        "subject_id",
        "version",
        "version_sha256",
        "new_use",
        "purpose",
        "allowed",
        "chosen_at",
        "method",
        "ip_address",
        "user_agent",
    ]
    csv_fields = [
        "chosen_at",
        "user__username",
        "subject_id",
        "version__document__slug",
        "version__number",
        "version_sha256",
        "purpose",
        "allowed",
        "method",
        "ip_address",
        "user_agent",
    ]
