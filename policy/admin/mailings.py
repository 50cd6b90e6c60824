"""Admin for topic mail: write it, preview it as a recipient sees it, then send it once.

Choosing and confirming the recipients is a plain view (`policy.views.staff`) mounted here.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import AdminTextareaWidget
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import path

from ..delivery.lists import Extras, mailing_list
from ..delivery.messages import notice_context
from ..forms import MailingForm
from ..models import Mailing
from ..views import staff


@admin.register(Mailing)
class MailingAdmin(admin.ModelAdmin):
    """Topic mail, behind "Can send topic mail"; a read-only record once sent."""

    form = MailingForm
    list_display = [
        "subject",
        "list_name",
        "created_at",
        "sent_at",
        "recipients",
        "sent",
        "due",
        "failed",
    ]
    readonly_fields = ["preview", "created_by", "created_at", "audience", "sent_by", "sent_at"]
    change_form_template = "admin/policy/mailing/change_form.html"

    def get_fields(self, request, obj=None):
        if obj is not None and obj.sent_at is not None:
            return ["subject", "body", *self.readonly_fields]
        return ["list_key", "subject", "body", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.sent_at is not None:
            return ["subject", "body", *self.readonly_fields]
        return self.readonly_fields

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "body":
            field.widget = AdminTextareaWidget(attrs={"rows": 24, "class": "policy-editor"})
        return field

    def get_queryset(self, request):
        return super().get_queryset(request).with_notice_counts()

    @admin.display(description="recipients", ordering="notices_total")
    def recipients(self, mailing: Mailing) -> int:
        return mailing.notices_total

    @admin.display(description="sent", ordering="notices_sent")
    def sent(self, mailing: Mailing) -> int:
        return mailing.notices_sent

    @admin.display(description="due", ordering="notices_pending")
    def due(self, mailing: Mailing) -> int:
        return mailing.notices_pending

    @admin.display(description="failed", ordering="notices_failed")
    def failed(self, mailing: Mailing) -> int:
        return mailing.notices_failed

    @admin.display(description="as a recipient sees it")
    def preview(self, mailing: Mailing) -> str:
        if not mailing.pk:
            return "Save to see it as a recipient will."
        found = mailing_list(mailing.list_key)
        sample = Extras(
            reason=f"You get this because you chose “{found.name if found else '…'}”.",
            stop_url=f"{settings.SITE_URL}/accounts/unsubscribe/…/",
            stop_text="Unsubscribe",
        )
        context = {**notice_context("mailing", mailing.pk), "extras": sample}
        return render_to_string(
            "admin/policy/mailing/_preview.html",
            {
                **context,
                "subject": f"[{settings.SITE_NAME}] {mailing.subject}",
                "sender": settings.NOTICE_FROM_EMAIL,
                "reply_to": settings.PRIVACY_CONTACT_EMAIL,  # as bulk_message sets it
                "text": render_to_string("policy/email/mailing_message.txt", context),
            },
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("policy.send_mailing")

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        allowed = request.user.has_perm("policy.send_mailing")
        return allowed and (obj is None or obj.sent_at is None)  # sent: the record is frozen

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        found = mailing_list(obj.list_key)
        obj.list_name = found.name if found else obj.list_name
        super().save_model(request, obj, form, change)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/send/",
                self.admin_site.admin_view(staff.mailing_send_view),
                name="policy_mailing_send",
            ),
            *super().get_urls(),
        ]
