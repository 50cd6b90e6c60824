"""Admin for people (every removal is an erasure), preference topics, the preference ledger and
the erasure log. The admin site itself is in sites.py."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from policy.admin.ledger import LedgerAdmin
from policy.spreadsheets import csv_download

from ..models import Erasure, PreferenceChange, Subscription, Topic
from ..services.people import account_erase, account_erasure_plan, email_address_trust

User = get_user_model()
admin.site.unregister(User)  # Django's own, registered when its admin module was imported


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's Users admin, except that removing a person always erases them.

    The delete page, the bulk action and any code path that deletes through the admin go
    through `account_erase`, the erasure self-service deletion uses: personal data goes, the
    consent ledger and notices stay pseudonymised, and the erasure is logged.
    """

    actions = ["erase"]
    # Adding a colleague asks for their address too: without one they could not sign in.
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "usable_password",
                                                  "password1", "password2")}),
    )  # fmt: skip

    def save_model(self, request: HttpRequest, obj, form, change) -> None:
        """An address staff type in here is trusted, as createsuperuser's is: the person can
        sign in at once, with no confirmation mail to wait for."""
        super().save_model(request, obj, form, change)
        if obj.email and (not change or "email" in form.changed_data):
            email_address_trust(user=obj)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a plain delete would keep IPs, or fail outright
        return actions

    @admin.action(description="Erase personal data of the selected people", permissions=["delete"])
    def erase(self, request: HttpRequest, queryset) -> HttpResponse | None:
        return self._erase(request, queryset)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        user = self.get_object(request, unquote(object_id))
        if user is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_delete_permission(request, user):
            raise PermissionDenied
        response = self._erase(request, self.get_queryset(request).filter(pk=user.pk))
        return response or HttpResponseRedirect(reverse("admin:auth_user_changelist"))

    def delete_model(self, request: HttpRequest, obj) -> None:
        account_erase(user=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for user in queryset:
            account_erase(user=user, by=request.user)

    def _erase(self, request: HttpRequest, queryset) -> HttpResponse | None:
        """Say what goes and what stays; erase once confirmed (POST confirm=yes)."""
        people = list(queryset.order_by("username"))
        refused = [
            (user, why) for user in people if (why := self._why_not(request, user))
        ]  # fmt: skip
        if request.POST.get("confirm") == "yes" and people and not refused:
            for user in people:
                account_erase(user=user, by=request.user)
            names = ", ".join(user.get_username() for user in people)
            self.message_user(
                request,
                f"Erased the personal data of {len(people)} "
                f"{'person' if len(people) == 1 else 'people'} ({names}). The consent ledger "
                "keeps their records under a random id; the erasure log says you did it.",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Erase personal data?",
            "plans": [(user, account_erasure_plan(user=user)) for user in people],
            "refused": refused,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "from_action": "action" in request.POST,
        }
        return TemplateResponse(request, "admin/auth/user/erase_confirmation.html", context)

    @staticmethod
    def _why_not(request: HttpRequest, user) -> str:
        if user.pk == request.user.pk:
            return "This is your own account: delete it from your account page instead."
        if user.is_superuser and not request.user.is_superuser:
            return "Only a superuser may erase a superuser."
        return ""


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


@admin.register(Erasure)
class ErasureAdmin(LedgerAdmin):
    """The erasure log: when, how and by whom each person's data was erased, naming no one."""

    list_display = ["erased_at", "method", "erased_by", "subject_id"]
    list_filter = ["method"]
    list_select_related = ["erased_by"]
    search_fields = ["subject_id"]
    date_hierarchy = "erased_at"
    readonly_fields = ["erased_at", "method", "erased_by", "subject_id"]
    csv_fields = ["erased_at", "method", "erased_by__username", "subject_id"]
