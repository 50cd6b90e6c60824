"""The privacy team's inbox: receiving a message from the contact form."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse

from ..delivery.messages import automated
from ..models import ContactMessage


def contact_message_receive(*, form_data: dict, user, ip_address: str | None) -> ContactMessage:
    """Store a contact message and, once it is saved, email it to the privacy team."""
    message = ContactMessage.objects.create(
        **form_data, user=user if user.is_authenticated else None, ip_address=ip_address
    )

    def notify_staff() -> None:
        EmailMessage(
            subject=f"[{settings.SITE_NAME} contact] {message.subject}",
            body=(
                f"From: {message.name} <{message.email}>\n"
                f"Account: {message.user or 'not signed in'}\n\n{message.message}\n\n"
                f"Handle it in the admin inbox: {settings.SITE_URL}"
                + reverse("admin:policy_contactmessage_change", args=[message.pk])
            ),
            to=[settings.PRIVACY_CONTACT_EMAIL],
            reply_to=[message.email],
            headers=automated(),
        ).send()

    # Robust: the message is safe in the inbox even if the mail server is down.
    transaction.on_commit(notify_staff, robust=True)
    return message
