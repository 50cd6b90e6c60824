"""Writing to the privacy team: the contact form, behind a honeypot and a per-IP rate limit."""

from allauth.account.adapter import get_adapter
from allauth.core.ratelimit import consume_or_429
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from ..forms import ContactForm
from ..models import Document
from ..services.inbox import contact_message_receive


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
