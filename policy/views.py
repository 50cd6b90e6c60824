"""Public pages of a policy document: the current version, its history and each version."""

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from .caching import version_etag
from .models import Document, PolicyVersion


@require_safe
@transaction.non_atomic_requests
def current(request: HttpRequest, document: str) -> HttpResponse:
    """The version of `document` in effect now."""
    version = (
        PolicyVersion.objects.filter(document__slug=document)
        .select_related("document")
        .with_first_published_at()
        .current()
    )
    if version is None:
        raise Http404("No version of this document is in effect.")
    anonymous = not request.user.is_authenticated
    if anonymous:
        # Signed-in pages carry per-session details, so only anonymous pages are revalidated.
        etag = version_etag(version)
        last_modified = max(version.published_at, version.effective_at)
        not_modified = get_conditional_response(
            request, etag=etag, last_modified=last_modified.timestamp()
        )
        if not_modified is not None:
            return not_modified
    response = render(
        request,
        "policy/version_detail.html",
        {"version": version, "document": version.document, "current": version},
    )
    if anonymous:
        response.headers["ETag"] = etag
        response.headers["Last-Modified"] = http_date(last_modified.timestamp())
        patch_cache_control(response, no_cache=True)
    return response


@require_safe
@transaction.non_atomic_requests
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
            "current": document.versions.current(),
        },
    )


@require_safe
@transaction.non_atomic_requests
def version_detail(request: HttpRequest, document: str, number: int) -> HttpResponse:
    """The permanent page of one version; drafts only for staff, under a banner."""
    version = get_object_or_404(
        PolicyVersion.objects.select_related("document").with_first_published_at(),
        document__slug=document,
        number=number,
    )
    if not version.is_published and not request.user.has_perm("policy.view_policyversion"):
        raise Http404("No published version has this number.")
    current = PolicyVersion.objects.filter(document_id=version.document_id).current()
    return render(
        request,
        "policy/version_detail.html",
        {"version": version, "document": version.document, "current": current},
    )
