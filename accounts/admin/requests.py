"""The privacy-request queue: staff read each request and its log, then act with one button.

Requests come from the public form only, so staff cannot add one, and they are the record that
a request was answered, so nobody can delete one. Each button moves the request one step
through the workflow in accounts.services.requests, which logs it and emails the requester.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html

from ..models import PrivacyRequest, PrivacyRequestEvent
from ..services.requests import (
    NEXT,
    outcome_needed,
    request_check,
    request_complete,
    request_reject,
    request_start,
)

Status = PrivacyRequest.Status

# The buttons on the change page: the POST name of each, and the status it moves to.
BUTTONS = {
    "_start": (Status.IN_PROGRESS, "Start work"),
    "_complete": (Status.COMPLETED, "Complete and send the answer"),
    "_reject": (Status.REJECTED, "Refuse, with the reason above"),
}


class PrivacyRequestActionForm(forms.ModelForm):
    """The one thing staff write: a note, the reason for refusing, or what was found or done."""

    text = forms.CharField(
        label="Your note or answer",
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
    )
    file = forms.FileField(
        label="Attach a file",
        required=False,
        help_text="Only for a copy of the data of an address without an account (at most 5 MB). "
        "The requester downloads it once; then it is deleted from the site.",
    )

    class Meta:
        model = PrivacyRequest
        fields = []

    def clean(self):
        cleaned = super().clean()
        pressed = [name for name in BUTTONS if name in self.data]
        if len(pressed) != 1:
            raise ValidationError("Press one of the buttons below to act on the request.")
        self.status = BUTTONS[pressed[0]][0]
        request_check(self.instance, self.status, cleaned.get("text", ""), cleaned.get("file"))
        return cleaned


class EventInline(admin.TabularInline):
    model = PrivacyRequestEvent
    fields = ["at", "status", "by", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Log: every step, who took it and when"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class UrgencyFilter(admin.SimpleListFilter):
    title = "urgency"
    parameter_name = "urgency"

    def lookups(self, request, model_admin):
        return [("open", "Open (verified or in progress)"), ("urgent", "Due within 7 days")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.open()
        if self.value() == "urgent":
            return queryset.urgent()
        return queryset


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(admin.ModelAdmin):
    form = PrivacyRequestActionForm
    inlines = [EventInline]
    list_display = ["received_at", "kind", "email", "status", "due", "account"]
    list_display_links = ["received_at", "email"]
    list_filter = [UrgencyFilter, "status", "kind"]
    list_select_related = ["user"]
    search_fields = ["email"]
    date_hierarchy = "received_at"
    readonly_fields = [
        "kind", "email", "details", "account", "status", "received_at", "verified_at", "due",
        "closed_at", "outcome", "attached", "download",
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["kind", "email", "details", "account"]}),
        (
            "Where it stands",
            {
                "fields": [
                    "status",
                    "received_at",
                    "verified_at",
                    "due",
                    "closed_at",
                    "outcome",
                    "attached",
                    "download",
                ]
            },
        ),  # fmt: skip
        (
            "Act on it",
            {
                "fields": ["text", "file"],
                "description": "Write here (and attach a file if needed), then press a button "
                "below. The requester is emailed each time.",
            },
        ),  # fmt: skip
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.is_open and self.has_change_permission(request, obj):
            return self.fieldsets
        return self.fieldsets[:2]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="due", ordering="due_at")
    def due(self, obj: PrivacyRequest):
        if obj.due_at is None:
            return "—"
        day = timezone.localtime(obj.due_at).strftime("%b %-d, %Y")
        if obj.is_open and obj.due_at < timezone.now():
            return format_html('<strong class="attention">{} (overdue)</strong>', day)
        if obj.is_urgent():
            return format_html('<strong class="attention">{} (urgent)</strong>', day)
        return day

    @admin.display(description="account")
    def account(self, obj: PrivacyRequest):
        if obj.user is None:
            return "No account uses this address." if obj.verified_at else "—"
        return obj.user.get_username()

    @admin.display(description="attached file")
    def attached(self, obj: PrivacyRequest) -> str:
        if not obj.attachment_name:
            return "—"
        kept = "deleted once downloaded" if obj.downloaded_at else "waiting to be downloaded"
        return f"{obj.attachment_name} ({obj.attachment_size:,} bytes; {kept})"

    @admin.display(description="download")
    def download(self, obj: PrivacyRequest):
        if obj.downloaded_at:
            return f"Downloaded on {timezone.localtime(obj.downloaded_at):%b %-d, %Y, %H:%M}."
        if obj.download_expires_at:
            return f"Not downloaded yet; the link works until {obj.download_expires_at:%b %-d, %Y}."
        return "—"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.is_open and self.has_change_permission(request, obj):
            context["request_buttons"] = [
                (name, label) for name, (status, label) in BUTTONS.items()
                if status in NEXT.get(obj.status, set())
            ]  # fmt: skip
            context["request_needs"] = outcome_needed(obj) or _what_completing_does(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request: HttpRequest, obj: PrivacyRequest, form, change) -> None:
        text = form.cleaned_data.get("text", "")
        if form.status == Status.IN_PROGRESS:
            request_start(request=request, privacy_request=obj, by=request.user, note=text)
        elif form.status == Status.COMPLETED:
            request_complete(
                request=request,
                privacy_request=obj,
                by=request.user,
                outcome=text,
                attachment=form.cleaned_data.get("file"),
            )
        else:
            request_reject(request=request, privacy_request=obj, by=request.user, reason=text)

    def response_change(self, request: HttpRequest, obj: PrivacyRequest):
        messages.success(
            request,
            f"The request is now “{obj.get_status_display().lower()}”, and the requester "
            "has been emailed.",
        )
        return HttpResponseRedirect(request.path)


def _what_completing_does(obj: PrivacyRequest) -> str:
    if obj.kind == PrivacyRequest.Kind.ACCESS:
        return "Completing emails a single-use link to download everything the account holds."
    if obj.kind == PrivacyRequest.Kind.DELETION and obj.user is not None:
        return (
            f"Completing erases the account “{obj.user.get_username()}” at once, as if they "
            "deleted it themselves; what they agreed to is kept without their name."
        )
    if obj.kind == PrivacyRequest.Kind.DELETION:
        return "Completing deletes the messages sent to us from this address."
    return ""
