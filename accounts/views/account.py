"""Account pages that allauth does not provide: username reminder, overview, privacy center."""

from allauth.account.adapter import get_adapter
from allauth.account.decorators import reauthentication_required
from allauth.core.context import request_context
from allauth.core.exceptions import ReauthenticationRequired
from allauth.core.ratelimit import consume_or_429
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from policy.models import Acceptance, Choice
from policy.services.ledger import choice_change

from ..adapters import SIGNUP_EMAIL, SIGNUP_USER
from ..forms import ChoiceChangeForm, DeleteAccountForm, PreferencesForm, UsernameReminderForm
from ..models import Subscription, Topic
from ..services.gpc import gpc_history
from ..services.people import (
    account_erase,
    account_export,
    confirmation_resend,
    preference_set,
    unsubscribe_token_read,
    username_reminder_send,
)


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
    """The signed-in person's account: the versions they accepted, each answer that counts now
    (with a button to change it), and every answer they gave."""
    return render(
        request,
        "account/overview.html",
        {
            "acceptances": Acceptance.objects.for_user(request.user),
            "answers": Choice.objects.answers_of(request.user),
            "choices": Choice.objects.for_user(request.user),
        },
    )


@require_POST
@login_required
def change_choice(request: HttpRequest) -> HttpResponse:
    """Allow, or withdraw, one use of the person's data; as easy as giving the answer was."""
    form = ChoiceChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That answer could not be read. Please try again.")
        return redirect("account_overview")
    adapter = get_adapter(request)
    try:
        choice = choice_change(
            user=request.user,
            purpose=form.cleaned_data["purpose"],
            allowed=form.allowed,
            method=Choice.Method.ACCOUNT,
            ip_address=adapter.get_client_ip(request),
            user_agent=adapter.get_http_user_agent(request),
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("account_overview")
    if choice is None:
        messages.info(request, "Nothing changed: that was already your answer.")
    elif choice.allowed:
        messages.success(request, f"Saved: you allow “{choice.new_use.name}”.")
    else:
        messages.success(
            request,
            f"Saved: you do not allow “{choice.new_use.name}”. "
            "We have stopped using your data this way.",
        )
    return redirect(reverse("account_overview") + "#answers-title")


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    """Switch each topic on or off; every change is recorded in the consent ledger."""
    topics = Topic.objects.active()
    current = dict(
        Subscription.objects.filter(user=request.user).values_list("topic_id", "opted_in")
    )
    data = request.POST if request.method == "POST" else None  # all switches off is a real answer
    form = PreferencesForm(data, topics=topics, current=current)
    if request.method == "POST" and form.is_valid():
        adapter = get_adapter(request)
        changed = sum(
            preference_set(
                user=request.user,
                topic=topic,
                opted_in=opted_in,
                method="preferences",
                ip_address=adapter.get_client_ip(request),
                user_agent=adapter.get_http_user_agent(request),
            )
            for topic, opted_in in form.choices()
        )
        messages.success(
            request,
            f"Saved: {changed} change{'s' if changed != 1 else ''}."
            if changed
            else "Nothing changed.",
        )
        return redirect("account_preferences")
    return render(
        request,
        "account/preferences.html",
        {
            "form": form,
            "gpc_sent": request.headers.get("Sec-GPC", "").strip() == "1",
            "gpc_history": gpc_history(request.user),
        },
    )


@csrf_exempt  # RFC 8058: mail providers POST "List-Unsubscribe=One-Click" with no form or cookie
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (link scanners follow GETs); POST unsubscribes at once, no login needed."""
    found = unsubscribe_token_read(token)
    if found is None:
        return render(request, "account/unsubscribe.html", {"invalid": True}, status=400)
    user, topic = found
    if request.method == "POST":
        adapter = get_adapter(request)
        preference_set(
            user=user,
            topic=topic,
            opted_in=False,
            method="unsubscribe",
            ip_address=adapter.get_client_ip(request),
            user_agent=adapter.get_http_user_agent(request),
        )
        return render(request, "account/unsubscribe.html", {"topic": topic, "done": True})
    return render(request, "account/unsubscribe.html", {"topic": topic, "token": token})


@require_safe
@login_required
def your_data(request: HttpRequest) -> HttpResponse:
    """What the site keeps about you and why, with a download of all of it."""
    return render(request, "account/your_data.html", {"confirmed": "confirmed" in request.GET})


# Raises allauth's ReauthenticationRequired unless the person confirmed their password lately.
_check_recent_password = reauthentication_required(lambda request: None)


@require_POST
@login_required
def your_data_download(request: HttpRequest) -> HttpResponse:
    """Everything the site holds about you, as one JSON file (after re-authentication).

    Without a recent one, the person confirms their password and comes back to the data page,
    where the button now downloads at once. (Replaying the POST after the password, as allauth
    otherwise does, would leave them on the password page while the file downloads.)
    """
    try:
        _check_recent_password(request)
    except ReauthenticationRequired:
        method = get_adapter(request).get_reauthentication_methods(request.user)[0]
        back = reverse("account_data") + "?confirmed"
        return redirect(f"{method['url']}?{urlencode({'next': back})}")
    response = JsonResponse(account_export(user=request.user), json_dumps_params={"indent": 2})
    name = f"pamedspa-{request.user.get_username()}-{timezone.now():%Y%m%d}.json"
    # Usernames may be any Unicode letters: this writes filename*=utf-8'' when needed.
    response.headers["Content-Disposition"] = content_disposition_header(True, name)
    response.headers["Cache-Control"] = "no-store"
    return response


def _posting(request: HttpRequest) -> bool:
    return request.method == "POST"


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@reauthentication_required(enabled=_posting)  # read first; the password comes with the button
def delete_account(request: HttpRequest) -> HttpResponse:
    """Say exactly what happens, ask for the username, then the password, then delete and
    confirm by email."""
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        user = request.user
        username = user.get_username()
        address = user.email
        account_erase(user=user)
        logout(request)
        if address:
            transaction.on_commit(
                lambda: _send_deletion_notice(request, address, username),
                robust=True,  # the deletion stands even if the mail server fails
            )
        messages.success(
            request,
            "Your account has been deleted."
            + (" We have emailed a confirmation." if address else ""),
        )
        return redirect("home")
    return render(request, "account/delete.html", {"form": form})


def _send_deletion_notice(request: HttpRequest, address: str, username: str) -> None:
    # allauth's adapter reads the request from its context, which may have ended by commit time.
    with request_context(request):
        get_adapter(request).send_mail(
            "account/email/account_deleted", address, {"username": username}
        )


# When the site began to honour Global Privacy Control (the spec's "lastUpdate").
GPC_SINCE = "2026-11-30"


@require_safe
def gpc_support(request: HttpRequest) -> HttpResponse:
    """/.well-known/gpc.json: this site honours Global Privacy Control (GPC spec, section 3.3)."""
    response = JsonResponse({"gpc": True, "lastUpdate": GPC_SINCE})
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@require_POST
def resend_confirmation(request: HttpRequest) -> HttpResponse:
    """The "check your email" page's button: the same email again, at most once in 3 minutes."""
    email = request.session.get(SIGNUP_EMAIL)
    if not email:
        messages.info(request, "Sign in, and we will send a new confirmation link if you need one.")
        return redirect("account_login")
    if limited := consume_or_429(request, action="confirm_email", key=email.lower()):
        return limited
    confirmation_resend(request=request, email=email, user_id=request.session.get(SIGNUP_USER))
    messages.success(request, f"We sent the email again to {email}.")
    return redirect("account_email_verification_sent")
