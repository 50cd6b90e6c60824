"""Operational endpoints and failure handling: the health check and the database-down page."""

import logging
import secrets
from http import HTTPStatus

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
# Errors that mean the database could not be reached or used right now, not a bug.
UNAVAILABLE = (OperationalError, InterfaceError)


@require_safe
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """What a load balancer acts on, and what an operator reads, in a small JSON body.

    503 when the database does not answer: this instance can serve nothing useful. 200 and
    "degraded" when only the shared cache is away: pages still work (see pamedspa/cache.py).
    """
    database = _database_state()
    body = {
        "status": "ok",
        "database": database,
        "cache": _cache_state(),
        "tasks": _tasks_state() if database == "ok" else None,
    }
    if database != "ok":
        body["status"] = "unavailable"
        return JsonResponse(
            body,
            status=HTTPStatus.SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if body["cache"] != "ok":
        body["status"] = "degraded"
    return JsonResponse(body)


def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("health check: database unavailable", exc_info=True)
        return "unavailable"
    return "ok"


def _cache_state() -> str:
    """Whether the shared cache answers: "ok", or "unavailable" while the site stands in."""
    ping = getattr(cache, "ping", None)
    if ping is not None:  # Redis, through the failover
        return "ok" if ping() else "unavailable"
    token = secrets.token_hex(8)
    try:
        cache.set("healthz", token, 10)
        answered = cache.get("healthz") == token
    except OSError:  # a cache folder that is full or not writable
        logger.warning("health check: cache unavailable", exc_info=True)
        answered = False
    return "ok" if answered else "unavailable"


def _tasks_state() -> dict:
    """When a background task last finished, how many wait, and how many are due later."""
    if not settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db."):
        return {"backend": "immediate"}
    results = DBTaskResult.objects.all()
    last = results.finished().aggregate(last=Max("finished_at"))["last"]
    now = timezone.now()
    return {
        "backend": "database",
        "last_finished_at": last.isoformat() if last else None,
        "waiting": results.ready().count(),
        # queued to run later: retries and the follow-ups of deliveries (see policy.tasks)
        "scheduled": results.filter(
            status=TaskResultStatus.READY, run_after__gt=now, run_after__lt=get_date_max()
        ).count(),
    }


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The branded 503 page with Retry-After, for anyone, signed in or not.

    Its one button asks for the same page again: every other page needs the database too.
    """
    path = request.get_full_path()
    again = path if path.startswith("/") and not path.startswith("//") else "/"
    return HttpResponse(
        render_to_string("503.html", {"again_url": again}),
        status=HTTPStatus.SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
