"""Admin for the privacy team's inbox of contact messages."""

from django.contrib import admin

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

    @admin.action(description="Mark as answered")
    def mark_answered(self, request, queryset):
        queryset.update(status=ContactMessage.Status.ANSWERED)

    @admin.action(description="Mark as closed")
    def mark_closed(self, request, queryset):
        queryset.update(status=ContactMessage.Status.CLOSED)
