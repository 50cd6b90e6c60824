"""Admin for policy documents and versions: drafts are edited, published versions only read."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .models import Acceptance, Document, PolicyVersion
from .services import version_copy_to_draft, version_draft_save, version_publish


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


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "title", "status", "effective_at", "published_at", "published_by"]
    list_display_links = ["__str__"]
    list_filter = [StatusFilter, "document"]
    list_select_related = ["document", "published_by"]
    search_fields = ["title", "summary", "body"]
    date_hierarchy = "effective_at"
    readonly_fields = [
        "number",
        "status",
        "preview",
        "sha256",
        "created_at",
        "created_by",
        "published_at",
        "published_by",
    ]
    fieldsets = [
        (None, {"fields": ["document", "title", "summary", "effective_at"]}),
        ("Text", {"fields": ["body"], "description": "Markdown. Save to see the preview below."}),
        ("Preview", {"fields": ["preview"]}),
        (
            "Record",
            {
                "fields": [
                    "number",
                    "status",
                    "sha256",
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
        return format_html('<div class="policy-preview">{}</div>', mark_safe(obj.body_html))  # noqa: S308

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_published:
            # Published versions are the public record: nothing is editable.
            return [*self.readonly_fields, "document", "title", "summary", "effective_at", "body"]
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
        if request.method == "POST":
            try:
                version = version_publish(version=version, by=request.user)
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


@admin.register(Acceptance)
class AcceptanceAdmin(admin.ModelAdmin):
    """The ledger is evidence: staff may read and filter it, never add, edit or delete."""

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
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
