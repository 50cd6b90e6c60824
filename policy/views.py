"""Public pages of a policy document: the current version, its history and each version."""

from allauth.account.adapter import get_adapter
from allauth.core.ratelimit import consume_or_429
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.formats import date_format
from django.utils.html import escape
from django.views.decorators.http import require_http_methods, require_safe

from . import redline
from .caching import current_version, shared_when_anonymous
from .cookies import cookies_in_use, only_essential
from .forms import ContactForm, ReviewForm
from .models import Acceptance, Document, NewUse, PolicyVersion
from .services import contact_message_receive, review_submit


@require_safe
@transaction.non_atomic_requests
@shared_when_anonymous
def current(request: HttpRequest, document: str) -> HttpResponse:
    """The version of `document` in effect now."""
    version = current_version(document)
    if version is None:
        raise Http404("No version of this document is in effect.")
    context = {
        "version": version,
        "document": version.document,
        "current": version,
        "canonical_url": request.build_absolute_uri(request.path),
        "cookies": cookies_in_use(),
        "cookies_only_essential": only_essential(),
        "show_site_facts": True,
    }
    return render(request, "policy/version_detail.html", context)


@require_safe
@transaction.non_atomic_requests
@shared_when_anonymous
def version_list(request: HttpRequest, document: str) -> HttpResponse:
    """Every published version of `document`, newest first."""
    document = get_object_or_404(Document, slug=document)
    versions = document.versions.published().order_by("-number")
    return render(
        request,
        "policy/version_list.html",
        {"document": document, "versions": versions, "current": current_version(document.slug)},
    )


@require_safe
@transaction.non_atomic_requests
@shared_when_anonymous
def version_detail(request: HttpRequest, document: str, number: int) -> HttpResponse:
    """The permanent page of one version; drafts only for staff, under a banner."""
    version = get_object_or_404(
        PolicyVersion.objects.select_related("document").with_first_published_at(),
        document__slug=document,
        number=number,
    )
    if not version.is_published and not request.user.has_perm("policy.view_policyversion"):
        raise Http404("No published version has this number.")
    return render(
        request,
        "policy/version_detail.html",
        {
            "version": version,
            "document": version.document,
            "current": current_version(document),
            "canonical_url": request.build_absolute_uri(version.get_absolute_url()),
        },
    )


@require_safe
@transaction.non_atomic_requests
@shared_when_anonymous
def compare(request: HttpRequest, document: str, a: int, b: int) -> HttpResponse:
    """What changed between two published versions, section by section."""
    versions = {
        v.number: v
        for v in PolicyVersion.objects.filter(document__slug=document, number__in=[a, b])
        .published()
        .select_related("document")
    }
    if a not in versions or b not in versions or a == b:
        raise Http404("Both versions must be published, and different.")
    older, newer = sorted([versions[a], versions[b]], key=lambda v: v.number)
    return _comparison_page(request, older, newer)


@require_safe
@transaction.non_atomic_requests
@shared_when_anonymous
def changes(request: HttpRequest, document: str, number: int) -> HttpResponse:
    """What changed in version `number`, against the published version before it."""
    newer = get_object_or_404(
        PolicyVersion.objects.published().select_related("document"),
        document__slug=document,
        number=number,
    )
    older = PolicyVersion.objects.previous_to(newer)
    if older is None:
        raise Http404("This is the first version: there is nothing before it.")
    return _comparison_page(request, older, newer)


def _comparison_page(request: HttpRequest, older: PolicyVersion, newer: PolicyVersion):
    return render(
        request,
        "policy/compare.html",
        {
            "document": newer.document,
            "older": older,
            "newer": newer,
            "comparison": redline.compare(older.body, newer.body),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def review(request: HttpRequest, document: str) -> HttpResponse:
    """Show a person what changed since the version they accepted, and ask about new uses."""
    versions = PolicyVersion.objects.filter(document__slug=document).select_related("document")
    target = versions.latest_published()
    if target is None:
        raise Http404("Nothing to review.")
    accepted = Acceptance.objects.last_accepted(request.user, document=document)
    if accepted is not None and accepted.number >= target.number:
        messages.info(request, "You are up to date: you have already reviewed the current policy.")
        return redirect("account_overview")
    new_uses = list(
        NewUse.objects.filter(
            version__in=versions.published(), version__number__gt=accepted.number if accepted else 0
        ).select_related("version")
    )
    form = ReviewForm(
        request.POST or None,
        initial={"via": request.GET.get("via", "")},
        target=target,
        new_uses=new_uses,
    )
    if request.method == "POST" and form.is_valid():
        adapter = get_adapter(request)
        review_submit(
            user=request.user,
            version=target,
            answers=form.answers,
            method=form.method,
            ip_address=adapter.get_client_ip(request),
            user_agent=adapter.get_http_user_agent(request),
        )
        messages.success(
            request, f"Thank you. We have recorded your answers for version {target.number}."
        )
        return redirect("account_overview")
    return render(
        request,
        "policy/review.html",
        {
            "document": target.document,
            "target": target,
            "accepted": accepted,
            "comparison": redline.compare(accepted.body if accepted else "", target.body),
            "form": form,
        },
    )


class VersionFeed(Feed):
    """An Atom feed of a document's published versions."""

    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, document: str) -> Document:
        return get_object_or_404(Document, slug=document)

    def title(self, document: Document) -> str:
        return f"{settings.SITE_NAME}: {document.title} versions"

    def link(self, document: Document) -> str:
        return reverse("policy:versions", args=[document.slug])

    def subtitle(self, document: Document) -> str:
        return f"Every published version of the {document.title}, newest first."

    def items(self, document: Document):
        return document.versions.published().select_related("document").order_by("-number")[:50]

    def item_title(self, version: PolicyVersion) -> str:
        effective = date_format(timezone.localtime(version.effective_at), "F j, Y")
        return f"Version {version.number}, effective {effective}"

    def item_description(self, version: PolicyVersion) -> str:
        # Atom carries the description as HTML: the summary is plain text.
        return linebreaksbr(escape(version.summary))

    def item_pubdate(self, version: PolicyVersion):
        return version.published_at

    def item_updateddate(self, version: PolicyVersion):
        return version.effective_at

    def item_guid(self, version: PolicyVersion) -> str:
        return f"urn:sha256:{version.sha256}"

    item_guid_is_permalink = False


@require_safe
@transaction.non_atomic_requests
@shared_when_anonymous
def versions_json(request: HttpRequest, document: str) -> JsonResponse:
    """Machine-readable list of published versions, for people who watch policies."""
    document = get_object_or_404(Document, slug=document)
    versions = document.versions.published().order_by("-number")
    return JsonResponse(
        {
            "document": document.slug,
            "title": document.title,
            "versions": [
                {
                    "number": v.number,
                    "effective_at": v.effective_at.isoformat(),
                    "published_at": v.published_at.isoformat(),
                    "sha256": v.sha256,
                    "material": v.is_material,
                    "summary": v.summary,
                    "url": request.build_absolute_uri(v.get_absolute_url()),
                }
                for v in versions
            ],
        },
        json_dumps_params={"indent": 2},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def contact(request: HttpRequest, document: str) -> HttpResponse:
    """Write to the privacy team; a honeypot and a per-IP rate limit keep spam out."""
    get_object_or_404(Document, slug=document)
    initial = {}
    if request.user.is_authenticated:
        initial = {"name": request.user.get_full_name(), "email": request.user.email}
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if limited := consume_or_429(request, action="contact"):
            return limited
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "website"}
            contact_message_receive(
                form_data=data,
                user=request.user,
                ip_address=get_adapter(request).get_client_ip(request),
            )
            messages.success(request, "Thank you. Your message has reached our privacy team.")
            return redirect("policy:current", document=document)
    return render(request, "policy/contact.html", {"form": form, "document_slug": document})
