"""Admin for policy documents and versions: drafts are edited, published versions only read."""

import csv

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from . import redline
from .forms import IncidentAudienceForm
from .models import (
    Acceptance,
    Choice,
    ContactMessage,
    Document,
    Incident,
    NewUse,
    PolicyNotice,
    PolicyVersion,
)
from .services import (
    incident_send,
    notice_recipients,
    notices_requeue,
    version_copy_to_draft,
    version_draft_save,
    version_publish,
)


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "created_at"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created_at"]

    def get_readonly_fields(self, request, obj=None):
        if self._has_published(obj):
            return [*self.readonly_fields, "slug"]  # published URLs must not move
        return self.readonly_fields

    def get_prepopulated_fields(self, request, obj=None):
        return {} if self._has_published(obj) else self.prepopulated_fields

    @staticmethod
    def _has_published(obj: Document | None) -> bool:
        return obj is not None and obj.versions.published().exists()

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.versions.exists():
            return False
        return super().has_delete_permission(request, obj)


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("draft", "Draft"), ("published", "Published")]

    def queryset(self, request, queryset):
        if self.value() == "draft":
            return queryset.drafts()
        if self.value() == "published":
            return queryset.published()
        return queryset


class NewUseInline(admin.TabularInline):
    """New uses of data a material version asks people about; frozen once published."""

    model = NewUse
    extra = 0
    fields = ["name", "purpose", "description"]

    def has_add_permission(self, request, obj=None):
        return (obj is None or not obj.is_published) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return (obj is None or not obj.is_published) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or not obj.is_published) and super().has_delete_permission(request, obj)


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "title",
        "status",
        "is_material",
        "effective_at",
        "published_at",
        "published_by",
        "notices",
    ]
    list_display_links = ["__str__"]
    list_filter = [StatusFilter, "is_material", "document"]
    inlines = [NewUseInline]
    list_select_related = ["document", "published_by"]
    search_fields = ["title", "summary", "body"]
    date_hierarchy = "effective_at"
    readonly_fields = [
        "number",
        "status",
        "preview",
        "changes",
        "notice_override_reason",
        "notice_overridden_by",
        "sha256",
        "created_at",
        "created_by",
        "published_at",
        "published_by",
    ]
    fieldsets = [
        (None, {"fields": ["document", "title", "summary", "effective_at", "is_material"]}),
        ("Text", {"fields": ["body"], "description": "Markdown. Save to see the preview below."}),
        ("Preview", {"fields": ["preview", "changes"]}),
        (
            "Record",
            {
                "fields": [
                    "number",
                    "status",
                    "sha256",
                    "notice_override_reason",
                    "notice_overridden_by",
                    "created_at",
                    "created_by",
                    "published_at",
                    "published_by",
                ]
            },
        ),
    ]
    change_form_template = "admin/policy/policyversion/change_form.html"

    class Media:
        css = {"all": ["css/admin.css"]}

    @admin.display(description="status")
    def status(self, obj: PolicyVersion) -> str:
        if not obj.pk or not obj.is_published:
            return "Draft"
        if obj.is_scheduled():
            return "Published, takes effect later"
        return "Published"

    @admin.display(description="rendered preview")
    def preview(self, obj: PolicyVersion) -> str:
        if not obj.pk:
            return "Save the draft to see it rendered."
        # body_html is the sanitiser's output (policy.rendering), made at save time.
        # body_html is nh3's output, made at save time.
        safe_html = mark_safe(obj.body_html)  # nosec B308 B703
        return format_html('<div class="policy-preview">{}</div>', safe_html)

    def get_queryset(self, request):
        statuses = PolicyNotice.Status
        return (
            super()
            .get_queryset(request)
            .annotate(
                notices_sent=Count("notices", filter=Q(notices__status=statuses.SENT)),
                notices_pending=Count(
                    "notices",
                    filter=Q(notices__status__in=[statuses.PENDING, statuses.SENDING]),
                ),
                notices_failed=Count("notices", filter=Q(notices__status=statuses.FAILED)),
            )
        )

    @admin.display(description="notices sent / pending / failed")
    def notices(self, obj: PolicyVersion) -> str:
        if not obj.is_material:
            return "—"
        return f"{obj.notices_sent} / {obj.notices_pending} / {obj.notices_failed}"

    @admin.display(description="changes against the current version")
    def changes(self, obj: PolicyVersion) -> str:
        current = PolicyVersion.objects.filter(document_id=obj.document_id).current()
        if not obj.pk or current is None or current.pk == obj.pk:
            return "—"
        return render_to_string(
            "policy/_comparison.html", {"comparison": redline.compare(current.body, obj.body)}
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_published:
            # Published versions are the public record: nothing is editable.
            return [
                *self.readonly_fields,
                "document",
                "title",
                "summary",
                "effective_at",
                "is_material",
                "body",
            ]
        if obj is not None:
            return [*self.readonly_fields, "document"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        version_draft_save(version=obj, by=request.user)

    def get_urls(self):
        urls = super().get_urls()
        own = [
            path(
                "<int:object_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="policy_policyversion_publish",
            ),
            path(
                "<int:object_id>/new-draft/",
                self.admin_site.admin_view(self.new_draft_view),
                name="policy_policyversion_new_draft",
            ),
        ]
        return own + urls

    def publish_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Confirm (GET), then publish (POST) a draft."""
        version = get_object_or_404(PolicyVersion.objects.select_related("document"), pk=object_id)
        if not request.user.has_perm("policy.publish_policyversion"):
            raise PermissionDenied
        change_url = reverse("admin:policy_policyversion_change", args=[version.pk])
        if version.is_published:
            self.message_user(request, f"{version} is already published.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        errors: list[str] = []
        override_reason = request.POST.get("override_reason", "")
        if request.method == "POST":
            try:
                version = version_publish(
                    version=version, by=request.user, override_reason=override_reason
                )
            except ValidationError as error:
                errors = error.messages
            else:
                self.message_user(
                    request,
                    f"Published {version}. It is now part of the public record.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
        current = PolicyVersion.objects.filter(document_id=version.document_id).current()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Publish {version}?",
            "version": version,
            "current": current,
            "errors": errors,
            "change_url": change_url,
            "override_reason": override_reason,
            "can_override": request.user.has_perm("policy.override_notice_period"),
            "notice_days": settings.POLICY_NOTICE_DAYS,
            "comparison": redline.compare(current.body, version.body) if current else None,
        }
        return TemplateResponse(request, "admin/policy/policyversion/publish.html", context)

    def new_draft_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Copy a version's text into a new, editable draft (POST only)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            raise PermissionDenied
        source = get_object_or_404(PolicyVersion, pk=object_id)
        draft = version_copy_to_draft(source=source, by=request.user)
        self.message_user(
            request,
            f"Started draft {draft} from {source}. Edit it, summarise the changes, then publish.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:policy_policyversion_change", args=[draft.pk]))


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_csv(modeladmin, request: HttpRequest, queryset) -> StreamingHttpResponse:
    """Stream the selected (or, with "select all", the filtered) records as CSV."""
    fields = modeladmin.csv_fields
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(fields)
        for record in queryset.values_list(*fields).iterator(chunk_size=2000):
            yield writer.writerow([spreadsheet_safe(value) for value in record])

    name = modeladmin.model._meta.model_name
    return StreamingHttpResponse(
        rows(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}s.csv"'},
    )


export_csv.short_description = "Export the selected records as CSV"


def spreadsheet_safe(value):
    """Text a spreadsheet would run as a formula (e.g. a crafted user agent) is quoted."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


class LedgerAdmin(admin.ModelAdmin):
    """The ledger is evidence: staff may read, filter and export it, never add, edit or delete."""

    actions = [export_csv]

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


@admin.register(PolicyNotice)
class PolicyNoticeAdmin(admin.ModelAdmin):
    """Delivery of change notices: read-only, except putting checked failures back in the queue."""

    list_display = ["version", "user", "status", "attempts", "email", "sent_at", "last_error"]
    list_filter = ["status", "version"]
    list_select_related = ["version__document", "user"]
    search_fields = ["user__username", "email"]
    readonly_fields = [
        "version",
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

    @admin.action(description="Requeue failed notices (check first that they were not sent)")
    def requeue(self, request: HttpRequest, queryset) -> None:
        count = notices_requeue(notices=queryset)
        self.message_user(request, f"Requeued {count} failed notice(s).", messages.SUCCESS)

    def get_fields(self, request, obj=None):
        return self.readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


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


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Breach notices: write, preview, choose who gets it, confirm the count, send once."""

    list_display = ["subject", "created_at", "sent_at", "recipients", "sent", "failed"]
    readonly_fields = ["created_by", "created_at", "audience", "sent_by", "sent_at", "preview"]
    fields = ["subject", "body", "preview", *readonly_fields[:-1]]
    change_form_template = "admin/policy/incident/change_form.html"

    def get_queryset(self, request):
        statuses = PolicyNotice.Status
        return (
            super()
            .get_queryset(request)
            .annotate(
                recipients=Count("notices"),
                sent=Count("notices", filter=Q(notices__status=statuses.SENT)),
                failed=Count("notices", filter=Q(notices__status=statuses.FAILED)),
            )
        )

    @admin.display(description="recipients")
    def recipients(self, incident: Incident) -> int:
        return incident.recipients

    @admin.display(description="sent")
    def sent(self, incident: Incident) -> int:
        return incident.sent

    @admin.display(description="failed")
    def failed(self, incident: Incident) -> int:
        return incident.failed

    @admin.display(description="preview of the email")
    def preview(self, incident: Incident) -> str:
        if not incident.pk:
            return "Save to see the preview."
        return render_to_string(
            "policy/email/incident_message.txt",
            {"incident": incident, "site_name": settings.SITE_NAME, "user": {"get_username": "…"}},
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
                self.admin_site.admin_view(self.send_view),
                name="policy_incident_send",
            ),
            *super().get_urls(),
        ]

    def send_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Step 1: choose the audience. Step 2: confirm the exact count. Then send, once."""
        incident = get_object_or_404(Incident, pk=object_id)
        if not request.user.has_perm("policy.send_incident"):
            raise PermissionDenied
        change_url = reverse("admin:policy_incident_change", args=[incident.pk])
        if incident.sent_at is not None:
            self.message_user(request, "This notice was already sent.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        form = IncidentAudienceForm(request.POST or None, request.FILES or None)
        count = None
        if request.method == "POST" and form.is_valid():
            if form.cleaned_data["audience"] == "list":
                # Keep an uploaded list in the form, so the confirmation step sends it again.
                data = request.POST.copy()
                data["names"] = "\n".join(form.cleaned_data["identifiers"])
                form = IncidentAudienceForm(data)
                form.is_valid()
            recipients = notice_recipients(form.users())
            count = recipients.count()
            if request.POST.get("confirmed_count") == str(count) and count:
                try:
                    incident_send(
                        incident=incident, users=form.users(), by=request.user,
                        audience=f"{form.describe()}: {count} recipients",
                    )  # fmt: skip
                except ValidationError as error:  # someone else sent it a moment ago
                    self.message_user(request, " ".join(error.messages), messages.WARNING)
                else:
                    self.message_user(
                        request, f"Sending the notice to {count} people.", messages.SUCCESS
                    )
                return HttpResponseRedirect(change_url)
        return TemplateResponse(
            request,
            "admin/policy/incident/send.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": f"Send “{incident}”",
                "incident": incident,
                "form": form,
                "count": count,
                "change_url": change_url,
            },
        )
