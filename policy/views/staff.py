"""Staff steps that take more than one form, linked from the admin: publishing a version,
starting a draft from one, and choosing who gets a breach notice.

They are plain views; `policy.admin` mounts them under its own URLs, behind the admin's login.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import get_text_list
from django.views.decorators.http import require_http_methods, require_POST

from .. import redline
from ..dashboard import dashboard
from ..delivery.audience import Audience, AudienceChanged
from ..delivery.lists import mailing_list
from ..delivery.messages import incident_sample
from ..delivery.outbox import notice_recipients
from ..forms import IncidentAudienceForm
from ..models import Incident, Mailing, PolicyVersion
from ..models.notices import STALL
from ..rendering import render_markdown
from ..services.incidents import incident_send
from ..services.mailings import mailing_audience, mailing_send
from ..services.versions import version_copy_to_draft, version_publish


def _people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def _record(request: HttpRequest, obj, message: str, *, added: bool = False) -> None:
    """Write the step into the object's admin History, as the admin's own forms do."""
    model_admin = admin.site.get_model_admin(type(obj))
    if added:
        model_admin.log_addition(request, obj, message)
    else:
        model_admin.log_change(request, obj, message)


def _admin_context(request: HttpRequest, model, title: str) -> dict:
    """What the admin's templates need to wear the admin's chrome."""
    return {**admin.site.each_context(request), "opts": model._meta, "title": title}


@require_http_methods(["GET", "HEAD", "POST"])
def version_publish_view(request: HttpRequest, object_id: int) -> HttpResponse:
    """Confirm (GET), then publish (POST) a draft."""
    version = get_object_or_404(PolicyVersion.objects.select_related("document"), pk=object_id)
    if not request.user.has_perm("policy.publish_policyversion"):
        raise PermissionDenied
    change_url = reverse("admin:policy_policyversion_change", args=[version.pk])
    if version.is_published:
        messages.warning(request, f"{version} is already published.")
        return HttpResponseRedirect(change_url)
    errors: list[str] = []
    override_reason = request.POST.get("override_reason", "")
    replaced = list(version.published_since_started())
    if request.method == "POST":
        try:
            version = version_publish(
                version=version,
                by=request.user,
                override_reason=override_reason,
                replaces_newer=request.POST.get("replaces_newer") == "yes",
            )
        except ValidationError as error:
            errors = error.messages
        else:
            # Asked again after the publish, under whose lock the service checked it.
            over = get_text_list([str(v) for v in version.published_since_started()], "and")
            note = f", over the changes of {over}, which it did not build on" if over else ""
            _record(request, version, f"Published as {version}{note}.")
            messages.success(request, f"Published {version}. It is now part of the public record.")
            return HttpResponseRedirect(change_url)
    # What it follows: the newest published version, even one not in effect yet, since the
    # public history will show the change against that one.
    versions = PolicyVersion.objects.filter(document_id=version.document_id)
    current = versions.latest_published()
    number = versions.next_public_number()
    context = {
        **_admin_context(request, PolicyVersion, f"Publish {version.document} v{number}?"),
        "version": version,
        "number": number,
        "published_since": replaced,
        "current": current,
        "errors": errors,
        "change_url": change_url,
        "override_reason": override_reason,
        "can_override": request.user.has_perm("policy.override_notice_period"),
        "notice_days": settings.POLICY_NOTICE_DAYS,
        "comparison": redline.compare(current.body, version.body) if current else None,
        "recipients": notice_recipients().count() if version.is_material else 0,
    }
    return TemplateResponse(request, "admin/policy/policyversion/publish.html", context)


@require_POST
def version_preview_view(request: HttpRequest) -> HttpResponse:
    """The text of the change form, unsaved, rendered through the same sanitiser as the site.

    The form's "Preview" button posts here (in a new tab); nothing is saved.
    """
    if not (
        request.user.has_perm("policy.add_policyversion")
        or request.user.has_perm("policy.change_policyversion")
    ):
        raise PermissionDenied
    title = request.POST.get("title", "").strip()
    rendered = render_markdown(request.POST.get("body", ""))
    context = {
        **_admin_context(request, PolicyVersion, f"Preview: {title or 'untitled'}"),
        "heading": title,
        "body_html": rendered.html,
        "headings": rendered.headings,
    }
    return TemplateResponse(request, "admin/policy/policyversion/preview.html", context)


@require_POST
def version_new_draft_view(request: HttpRequest, object_id: int) -> HttpResponse:
    """Copy a version's text into a new, editable draft."""
    if not request.user.has_perm("policy.add_policyversion"):
        raise PermissionDenied
    source = get_object_or_404(PolicyVersion, pk=object_id)
    draft = version_copy_to_draft(source=source, by=request.user)
    _record(request, draft, f"Started from {source}.", added=True)
    messages.success(
        request, f"Started {draft} from {source}. Edit it, summarise the changes, then publish."
    )
    return HttpResponseRedirect(reverse("admin:policy_policyversion_change", args=[draft.pk]))


@require_http_methods(["GET", "HEAD", "POST"])
def incident_send_view(request: HttpRequest, object_id: int) -> HttpResponse:
    """Step 1: choose the audience and see it counted. Step 2: confirm exactly that audience.

    The confirmation carries the audience signed (`Audience`); the send recounts, and if the
    criteria or the recipients differ from what was shown, it shows the new audience and asks
    again instead of sending.
    """
    incident = get_object_or_404(Incident, pk=object_id)
    if not request.user.has_perm("policy.send_incident"):
        raise PermissionDenied
    change_url = reverse("admin:policy_incident_change", args=[incident.pk])
    if incident.sent_at is not None:
        messages.warning(request, "This notice was already sent.")
        return HttpResponseRedirect(change_url)
    form = IncidentAudienceForm(request.POST or None, request.FILES or None)
    salt = f"policy.incident-send:{incident.pk}"
    audience, changed = None, False
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["audience"] == "list":
            # Keep an uploaded list in the form, so the confirmation step sends it again.
            data = request.POST.copy()
            data["names"] = "\n".join(form.cleaned_data["identifiers"])
            form = IncidentAudienceForm(data)
            form.is_valid()
        confirmed = Audience.confirmed(request.POST.get("confirmed", ""), salt=salt)
        if confirmed is not None:
            try:
                count = incident_send(
                    incident=incident, users=form.users(), by=request.user,
                    criteria=form.criteria(), description=form.describe(),
                    confirmed=confirmed, unmatched=form.unmatched(),
                )  # fmt: skip
            except AudienceChanged as change:
                audience, changed = change.now, True
            except ValidationError as error:  # someone else sent it a moment ago
                messages.warning(request, " ".join(error.messages))
                return HttpResponseRedirect(change_url)
            else:
                _record(request, incident, f"Sent to {_people(count)}.")
                messages.success(request, f"Sending the notice to {_people(count)}.")
                return HttpResponseRedirect(change_url)
        else:
            audience = Audience.of(form.criteria(), notice_recipients(form.users()))
    context = {
        **_admin_context(request, Incident, f"Send “{incident}”"),
        "incident": incident,
        "message": incident_sample(incident),
        "form": form,
        "count": audience.count if audience else None,
        "confirmation": audience.sign(salt=salt) if audience and audience.count else "",
        "changed": changed,
        "description": form.describe() if audience else "",
        "unmatched": form.unmatched() if audience else [],
        "unreachable": form.unreachable() if audience else [],
        "change_url": change_url,
    }
    return TemplateResponse(request, "admin/policy/incident/send.html", context)


def privacy_dashboard_view(request: HttpRequest) -> HttpResponse:
    """What needs attention now, each item linking to where to act (mounted by the admin site)."""
    context = {
        **_admin_context(request, PolicyVersion, "Privacy dashboard"),
        "dashboard": dashboard(),
        "stall_minutes": STALL.seconds // 60,
    }
    return TemplateResponse(request, "admin/privacy_dashboard.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def mailing_send_view(request: HttpRequest, object_id: int) -> HttpResponse:
    """Show exactly who topic mail goes to now; send it once that audience is confirmed.

    Bound like a breach notice's confirmation: if the list, the words or the people on the
    list change between counting and sending, it shows the new audience and asks again.
    """
    mailing = get_object_or_404(Mailing, pk=object_id)
    if not request.user.has_perm("policy.send_mailing"):
        raise PermissionDenied
    change_url = reverse("admin:policy_mailing_change", args=[mailing.pk])
    if mailing.sent_at is not None:
        messages.warning(request, "This mail was already sent.")
        return HttpResponseRedirect(change_url)
    salt = f"policy.mailing-send:{mailing.pk}"
    changed = False
    confirmed = Audience.confirmed(request.POST.get("confirmed", ""), salt=salt)
    if request.method == "POST" and confirmed is not None:
        try:
            count = mailing_send(mailing=mailing, by=request.user, confirmed=confirmed)
        except AudienceChanged:
            changed = True
        except ValidationError as error:
            messages.warning(request, " ".join(error.messages))
            return HttpResponseRedirect(change_url)
        else:
            _record(request, mailing, f"Sent to {_people(count)}.")
            messages.success(request, f"Sending “{mailing}” to {_people(count)}.")
            return HttpResponseRedirect(change_url)
    audience = mailing_audience(mailing)
    context = {
        **_admin_context(request, Mailing, f"Send “{mailing}”"),
        "mailing": mailing,
        "list": mailing_list(mailing.list_key),
        "count": audience.count if audience else 0,
        "confirmation": audience.sign(salt=salt) if audience and audience.count else "",
        "changed": changed,
        "change_url": change_url,
    }
    return TemplateResponse(request, "admin/policy/mailing/send.html", context)
