"""Admin for notices (of policy changes and of breaches) and for breach incidents.

Choosing a breach notice's audience is a plain view (`policy.views.staff`) mounted here.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path

from ..delivery.messages import incident_sample
from ..models import Incident, Notice
from ..services.notices import notices_retry
from ..views import staff


class NoticeKindFilter(admin.SimpleListFilter):
    title = "about"
    parameter_name = "about"

    def lookups(self, request, model_admin):
        return [("version", "A policy change"), ("incident", "A breach")]

    def queryset(self, request, queryset):
        if self.value() in {"version", "incident"}:
            return queryset.filter(**{f"{self.value()}__isnull": False})
        return queryset


class FailureFilter(admin.SimpleListFilter):
    """Failed notices that may have arrived (interrupted) apart from those that cannot have."""

    title = "why it failed"
    parameter_name = "failure"

    def lookups(self, request, model_admin):
        return [
            ("interrupted", "Interrupted: may have arrived"),
            ("not-sent", "Not sent: refused, or no address"),
        ]

    def queryset(self, request, queryset):
        interrupted = queryset.interrupted()
        if self.value() == "interrupted":
            return interrupted
        if self.value() == "not-sent":
            return queryset.filter(status=Notice.Status.FAILED).exclude(pk__in=interrupted)
        return queryset


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    """Notices of policy changes and breaches: read-only, except requeueing checked failures."""

    list_display = ["about", "user", "status", "attempts", "address", "sent_at", "last_error"]
    list_filter = ["status", FailureFilter, NoticeKindFilter, "version", "incident"]
    list_select_related = ["version__document", "incident", "user"]
    search_fields = ["user__username", "email"]
    readonly_fields = [
        "version",
        "incident",
        "user",
        "status",
        "attempts",
        "email",
        "created_at",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
        "last_error",
    ]
    actions = ["requeue"]

    @admin.display(description="about")
    def about(self, notice: Notice) -> str:
        return f"{notice.about} ({notice.kind})"

    @admin.display(description="email address")
    def address(self, notice: Notice) -> str:
        """Where it went, or was last tried; where it will go, until then."""
        if notice.subject_id and not notice.user_id:
            return "erased (the person's data was erased)"
        return notice.email or notice.address or "no verified address"

    def get_queryset(self, request):
        return super().get_queryset(request).with_address()

    @admin.action(description="Send failed notices again", permissions=["requeue"])
    def requeue(self, request: HttpRequest, queryset):
        """Send failed notices again; first ask, when some of them may have arrived."""
        failed = queryset.filter(status=Notice.Status.FAILED)
        interrupted = failed.interrupted()
        count = interrupted.count()
        if count and request.POST.get("confirmed") != "yes":
            shown = list(
                interrupted.with_address().select_related("version__document", "incident", "user")[
                    :50
                ]
            )
            context = {
                **self.admin_site.each_context(request),
                "title": "Send failed notices again?",
                "opts": self.model._meta,
                "queryset": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "failed": failed.count(),
                "interrupted": shown,
                "interrupted_count": count,
                "more": count - len(shown),
                "not_interrupted": failed.count() - count,
            }
            return TemplateResponse(
                request, "admin/policy/notice/requeue_confirmation.html", context
            )
        if "without_interrupted" in request.POST:
            failed, count = failed.exclude(pk__in=interrupted), 0
        sent = notices_retry(notices=failed)
        text = f"{sent} failed notice{pluralize(sent)} will be sent again."
        if count:
            text += (
                f" {count} of them {pluralize(count, 'was,were')} interrupted while sending, "
                "so those people may get the notice twice."
            )
        self.message_user(request, text, messages.SUCCESS)
        return None

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("policy.requeue_notice")

    def get_fields(self, request, obj=None):
        return self.readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Breach notices: write, preview, choose who gets it, confirm the count, send once."""

    list_display = ["subject", "created_at", "sent_at", "recipients", "sent", "due", "failed"]
    readonly_fields = [
        "created_by", "created_at", "audience", "unmatched", "sent_by", "sent_at", "preview",
    ]  # fmt: skip
    fields = ["subject", "body", "preview", *readonly_fields[:-1]]
    change_form_template = "admin/policy/incident/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).with_notice_counts()

    @admin.display(description="recipients", ordering="notices_total")
    def recipients(self, incident: Incident) -> int:
        return incident.notices_total

    @admin.display(description="sent", ordering="notices_sent")
    def sent(self, incident: Incident) -> int:
        return incident.notices_sent

    @admin.display(description="due", ordering="notices_pending")
    def due(self, incident: Incident) -> int:
        return incident.notices_pending

    @admin.display(description="failed", ordering="notices_failed")
    def failed(self, incident: Incident) -> int:
        return incident.notices_failed

    @admin.display(description="preview of the email")
    def preview(self, incident: Incident) -> str:
        if not incident.pk:
            return "Save to see the preview."
        return render_to_string(
            "admin/policy/incident/_preview.html", {"message": incident_sample(incident)}
        )

    def has_add_permission(self, request):
        return request.user.has_perm("policy.send_incident")

    def has_change_permission(self, request, obj=None):
        allowed = request.user.has_perm("policy.send_incident")
        return allowed and (obj is None or obj.sent_at is None)  # sent: the audit record is frozen

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/send/",
                self.admin_site.admin_view(staff.incident_send_view),
                name="policy_incident_send",
            ),
            *super().get_urls(),
        ]
