"""Admin for policy documents and versions: drafts are edited, published versions only read.

Publishing and starting a draft are plain views (`policy.views.staff`) mounted here.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminTextareaWidget
from django.template.loader import render_to_string
from django.urls import path
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .. import redline
from ..models import Document, NewUse, PolicyVersion
from ..services.versions import version_draft_save
from ..views import staff


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
    fields = ["name", "purpose", "description", "shares_data"]

    def has_add_permission(self, request, obj=None):
        return (obj is None or not obj.is_published) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return (obj is None or not obj.is_published) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or not obj.is_published) and super().has_delete_permission(request, obj)


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    # The notice counts come early, so they stay in view on a 1366 px screen.
    list_display = [
        "__str__",
        "status",
        "notices",
        "is_material",
        "effective_at",
        "published_at",
        "published_by",
    ]
    list_display_links = ["__str__"]
    list_filter = [StatusFilter, "is_material", "document"]
    inlines = [NewUseInline]
    list_select_related = ["document", "published_by"]
    search_fields = ["title", "summary", "body"]
    date_hierarchy = "effective_at"
    readonly_fields = [
        "public_number",
        "status",
        "notices",
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
        (
            "Text",
            {
                "fields": ["body"],
                "description": "Markdown. “Preview” at the bottom shows it as readers will see "
                "it, before you save.",
            },
        ),
        ("Preview", {"fields": ["preview", "changes"]}),
        (
            "Record",
            {
                "fields": [
                    "public_number",
                    "status",
                    "notices",
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

    @admin.display(description="number")
    def public_number(self, obj: PolicyVersion) -> str:
        if obj.pk and obj.is_published:
            return str(obj.number)
        if obj.document_id is None:
            return "Given when published."
        upcoming = PolicyVersion.objects.filter(document_id=obj.document_id).next_public_number()
        return f"Given when published, in the order versions are published: {upcoming} if now."

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
        # body_html is the sanitiser's output (policy.rendering, nh3), made at save time.
        safe_html = mark_safe(obj.body_html)  # nosec B308 B703
        return format_html('<div class="policy-preview">{}</div>', safe_html)

    def get_queryset(self, request):
        return super().get_queryset(request).with_notice_counts()

    @admin.display(description="notices: sent / due / failed")
    def notices(self, obj: PolicyVersion) -> str:
        if not obj.is_material or not obj.is_published:
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

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "body":
            field.widget = AdminTextareaWidget(attrs={"rows": 36, "class": "policy-editor"})
        elif db_field.name == "is_material":
            field.help_text = (
                "A change people must be told about by email, and may answer on the review "
                f"page. Publish it at least {settings.POLICY_NOTICE_DAYS} days before it takes "
                "effect."
            )
        return field

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

    def has_change_permission(self, request, obj=None):
        """A published version's page is for reading: it offers no Save that could only fail."""
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        version_draft_save(version=obj, by=request.user)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        problem = version.notices_stalled() if version is not None else ""
        if problem:
            messages.warning(
                request,
                f"Notices of this version are not going out. {problem} The site's background "
                "worker is probably not running: ask whoever runs the site to start it.",
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        view = self.admin_site.admin_view
        own = [
            path(
                "<int:object_id>/publish/",
                view(staff.version_publish_view),
                name="policy_policyversion_publish",
            ),
            path(
                "<int:object_id>/new-draft/",
                view(staff.version_new_draft_view),
                name="policy_policyversion_new_draft",
            ),
            path("preview/", view(staff.version_preview_view), name="policy_policyversion_preview"),
        ]
        return own + super().get_urls()
