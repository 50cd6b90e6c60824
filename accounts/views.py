"""Account pages that allauth does not provide: the username reminder and the account overview."""

from allauth.core.ratelimit import consume_or_429
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from policy.models import Acceptance, Choice

from .forms import UsernameReminderForm
from .services import username_reminder_send


@require_http_methods(["GET", "HEAD", "POST"])
def username_reminder(request: HttpRequest) -> HttpResponse:
    """Ask for an email address; answer alike whether or not an account uses it."""
    form = UsernameReminderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        # Limits per IP and per address, counted in the shared cache like allauth's own.
        if limited := consume_or_429(request, action="username_reminder", key=email.lower()):
            return limited
        username_reminder_send(request=request, email=email)
        return redirect("account_username_reminder_done")
    return render(request, "account/username_reminder.html", {"form": form})


@require_safe
def username_reminder_done(request: HttpRequest) -> HttpResponse:
    return render(request, "account/username_reminder_done.html")


@require_safe
@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The signed-in person's account: the versions they accepted and the choices they made."""
    return render(
        request,
        "account/overview.html",
        {
            "acceptances": Acceptance.objects.for_user(request.user),
            "choices": Choice.objects.for_user(request.user),
        },
    )
