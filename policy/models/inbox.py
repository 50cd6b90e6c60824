"""The privacy team's inbox: messages sent through the contact form."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ContactMessageQuerySet(models.QuerySet):
    def open(self) -> ContactMessageQuerySet:
        """Messages nobody has answered or closed yet."""
        return self.filter(status=ContactMessage.Status.NEW)


class ContactMessage(models.Model):
    """A message sent through /privacy/contact/, handled by staff in the admin inbox."""

    class Status(models.TextChoices):
        NEW = "new", "new"
        ANSWERED = "answered", "answered"
        CLOSED = "closed", "closed"

    name = models.CharField(max_length=100)
    email = models.EmailField()
    subject = models.CharField(max_length=200)
    message = models.TextField(max_length=5000)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="contact_messages",
        help_text="The account that sent it, when the sender was signed in.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    staff_notes = models.TextField(blank=True, help_text="For staff only: what was done.")
    created_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)

    objects = ContactMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "contact message"

    def __str__(self) -> str:
        return f"{self.subject} ({self.email})"
