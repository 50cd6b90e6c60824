"""Admin for the privacy team's inbox of contact messages."""

from django.contrib import admin, messages
from django.http import HttpRequest

from ..models import ContactMessage


@admin.register(ContactMessage)
class ContactMessageAdmin(admin.ModelAdmin):
    """The privacy team's inbox."""

    list_display = ["created_at", "subject", "name", "email", "user", "status"]
    list_filter = ["status"]
    list_select_related = ["user"]
    search_fields = ["subject", "message", "name", "email"]
    date_hierarchy = "created_at"
    readonly_fields = ["name", "email", "user", "subject", "message", "created_at", "ip_address"]
    fields = [*readonly_fields, "status", "staff_notes"]
    actions = ["mark_answered", "mark_closed"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark as answered", permissions=["change"])
    def mark_answered(self, request: HttpRequest, queryset) -> None:
        self._mark(request, queryset, ContactMessage.Status.ANSWERED)

    @admin.action(description="Mark as closed", permissions=["change"])
    def mark_closed(self, request: HttpRequest, queryset) -> None:
        self._mark(request, queryset, ContactMessage.Status.CLOSED)

    def _mark(self, request: HttpRequest, queryset, status: str) -> None:
        count = queryset.update(status=status)
        self.message_user(
            request,
            f"Marked {count} message{'' if count == 1 else 's'} as {status}.",
            messages.SUCCESS,
        )
