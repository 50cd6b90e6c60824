"""Turn a mail server failure into a clear page instead of a 500, with nothing left half-made."""

import logging

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .adapters import EmailDeliveryFailed

logger = logging.getLogger(__name__)


class EmailDeliveryFailedMiddleware:
    """When a view could not hand its email to the mail server, say so and ask to retry.

    The exception has already left the view's transaction (ATOMIC_REQUESTS), so whatever the
    view wrote (a new account, an email address) was rolled back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, EmailDeliveryFailed):
            return None
        logger.error("mail delivery failed on %s: %s", request.path, exception)
        if not request.user.is_authenticated and hasattr(request, "session"):
            # Drop any half-finished signup or login state that pointed at rolled-back rows.
            request.session.flush()
        response = TemplateResponse(request, "account/email_delivery_failed.html", status=503)
        response.headers["Retry-After"] = "60"
        return response
