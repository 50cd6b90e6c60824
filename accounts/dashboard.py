"""The privacy requests' section of the privacy dashboard: what is open, what is urgent."""

from datetime import datetime

from django.db.models import Min
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime

from policy.dashboard import Item, Section

from .models import PrivacyRequest


def requests_section(at: datetime) -> Section:
    """Open requests, those due within 7 days or overdue, and the nearest due date."""
    queue = reverse("admin:accounts_privacyrequest_changelist")
    open_requests = PrivacyRequest.objects.open()
    count = open_requests.count()
    items = []
    if count:
        nearest = open_requests.aggregate(nearest=Min("due_at"))["nearest"]
        overdue = open_requests.filter(due_at__lt=at).count()
        urgent = PrivacyRequest.objects.urgent(at).count() - overdue
        items.append(
            Item(
                f"{count} open request{'s' if count != 1 else ''}; the next is due on "
                f"{date_format(localtime(nearest), 'F j, Y')}.",
                f"{queue}?urgency=open",
            )
        )
        if overdue:
            items.append(Item(f"{overdue} overdue: answer now.", f"{queue}?urgency=urgent", True))
        if urgent:
            items.append(
                Item(f"{urgent} due within 7 days.", f"{queue}?urgency=urgent", attention=True)
            )
    return Section("Privacy requests", items, "No open privacy requests.")
