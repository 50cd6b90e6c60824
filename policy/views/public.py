"""Public pages of a policy document: the current version, its history, each version, what
changed, and the feeds. Anonymous visitors share kept pages (`shared_when_anonymous`)."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.formats import date_format
from django.utils.html import escape, format_html
from django.views.decorators.http import require_safe

from .. import redline
from ..caching import shared_when_anonymous, snapshot_for
from ..cookies import cookies_in_use, only_essential
from ..models import Document, PolicyVersion


@require_safe
@shared_when_anonymous
def current(request: HttpRequest, document: str) -> HttpResponse:
    """The version of `document` in effect now."""
    version = snapshot_for(request, document).version
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
@shared_when_anonymous
def version_list(request: HttpRequest, document: str) -> HttpResponse:
    """Every published version of `document`, newest first."""
    document = get_object_or_404(Document, slug=document)
    versions = document.versions.published().order_by("-number")
    return render(
        request,
        "policy/version_list.html",
        {
            "document": document,
            "versions": versions,
            "current": snapshot_for(request, document.slug).version,
        },
    )


@require_safe
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
            "current": snapshot_for(request, document).version,
            "canonical_url": request.build_absolute_uri(version.get_absolute_url()),
        },
    )


@require_safe
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

    author_name = settings.SITE_NAME  # the W3C validator wants an author, per entry or here

    def items(self, document: Document):
        versions = list(
            document.versions.published().select_related("document").order_by("-number")[:51]
        )
        # Each entry links to what changed since the version before it: the next one down.
        for version, previous in zip(versions, [*versions[1:], None], strict=True):
            version.previous_number = previous.number if previous else None
        return versions[:50]

    def item_link(self, version: PolicyVersion) -> str:
        """What changed in this version: the comparison with the one before, if any."""
        if version.previous_number is None:
            return version.get_absolute_url()
        args = [version.document.slug, version.previous_number, version.number]
        return reverse("policy:compare", args=args)

    def item_categories(self, version: PolicyVersion) -> list[str]:
        if version.previous_number is None:
            return ["first version"]
        return ["material change" if version.is_material else "minor change"]

    def item_title(self, version: PolicyVersion) -> str:
        effective = date_format(timezone.localtime(version.effective_at), "F j, Y")
        return f"Version {version.number}, effective {effective}"

    def item_description(self, version: PolicyVersion) -> str:
        # Atom carries the description as HTML: the summary is plain text.
        if version.previous_number is None:
            kind = "The first version."
        elif version.is_material:
            kind = "Material change: people are told by email and asked about any new use of data."
        else:
            kind = "Minor change."
        return format_html(
            "<p><strong>{}</strong></p><p>{}</p>", kind, linebreaksbr(escape(version.summary))
        )

    def item_pubdate(self, version: PolicyVersion):
        return version.published_at

    def item_updateddate(self, version: PolicyVersion):
        # The latest moment that mattered so far: taking effect, once it has; until then, the
        # publication (Atom's "updated" is never in the future; the title gives the date).
        if version.effective_at <= timezone.now():
            return version.effective_at
        return version.published_at

    def item_guid(self, version: PolicyVersion) -> str:
        return f"urn:sha256:{version.sha256}"

    item_guid_is_permalink = False


@require_safe
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
