"""Background tasks (django-tasks): fan out a material change's notices, then deliver them.

The task names are stored in the database queue, so they stay as they are: renaming one would
strand the tasks that a running site had already queued.
"""

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import default_task_backend, task

from .delivery.outbox import LEASE, fanout_finish, notices_deliver
from .models import PolicyVersion

# A worker that dies while delivering (SIGKILL, out of memory, a power cut) takes its task with
# it, and nothing else would send the notices it left waiting. So each time deliveries are
# queued, a follow-up comes FOLLOW_UP later. It sends whatever is due by then, and while notices
# are left "sending" it comes back once they can be reported as interrupted (after LEASE).
FOLLOW_UP = timedelta(minutes=2)


def deliveries_enqueue(notices: int = 1) -> None:
    """Queue deliveries for `notices` notices now, a batch each, so that several workers share
    them; and, where the task backend can wait, one follow-up."""
    for _ in range(max(1, math.ceil(notices / settings.POLICY_NOTICE_BATCH_SIZE))):
        deliver_policy_notices.enqueue()
    _follow_up(timezone.now() + FOLLOW_UP)


def _follow_up(at: datetime) -> None:
    if default_task_backend.supports_defer:
        deliver_policy_notices.using(run_after=at).enqueue(follow_up=True)


@task()
def create_policy_notices(version_id: int) -> int:
    """Create the notices of a material version, then queue their deliveries."""
    count = fanout_finish(version=PolicyVersion.objects.get(pk=version_id))
    deliveries_enqueue(count)
    return count


@task()
def deliver_policy_notices(follow_up: bool = False) -> dict:
    """Send up to one batch of due notices (of any kind); come back later for retries.

    A follow-up sends every notice due, however many, since the deliveries queued for them may
    have died with their worker.
    """
    report = notices_deliver(limit=None if follow_up else settings.POLICY_NOTICE_BATCH_SIZE)
    if report.retrying:
        # Sends that failed here come back at their backoff time.
        _later(report.next_attempt_at)
    if follow_up and report.sending_since is not None:
        _follow_up(report.sending_since + LEASE + timedelta(minutes=1))
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}


def _later(at: datetime | None) -> None:
    if at is not None and default_task_backend.supports_defer:
        deliver_policy_notices.using(run_after=at).enqueue()
