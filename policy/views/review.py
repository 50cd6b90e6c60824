"""The review page: what changed since the version a person accepted, and their answers."""

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .. import redline
from ..forms import ReviewForm
from ..models import Acceptance, NewUse, PolicyVersion
from ..services.ledger import review_submit


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def review(request: HttpRequest, document: str) -> HttpResponse:
    """Show a person what changed since the version they accepted, and ask about new uses."""
    versions = PolicyVersion.objects.filter(document__slug=document).select_related("document")
    target = versions.latest_published()  # accepting it covers every change before it
    if target is None:
        raise Http404("Nothing to review.")
    if not versions.awaiting_review_by(request.user).exists():
        messages.info(request, "You are up to date: you have already reviewed the current policy.")
        return redirect("account_overview")
    accepted = Acceptance.objects.last_accepted(request.user, document=document)
    since = accepted.number if accepted else 0
    new_uses = list(
        NewUse.objects.filter(
            version__in=versions.published(), version__number__gt=since
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
            # Every version this review covers, each with its own date and summary.
            "newer": versions.published().filter(number__gt=since).order_by("number"),
            "comparison": redline.compare(accepted.body if accepted else "", target.body),
            "form": form,
        },
    )
