"""Background tasks (django-tasks): fan out a material change's notices, then deliver them.

The task names are stored in the database queue, so they stay as they are: renaming one would
strand the tasks that a running site had already queued.
"""

import math

from django.conf import settings
from django_tasks import default_task_backend, task

from .delivery.outbox import fanout_finish, notices_deliver
from .models import PolicyVersion


@task()
def create_policy_notices(version_id: int) -> int:
    """Create the notices of a material version, then queue enough delivery tasks to share."""
    count = fanout_finish(version=PolicyVersion.objects.get(pk=version_id))
    batches = max(1, math.ceil(count / settings.POLICY_NOTICE_BATCH_SIZE))
    for _ in range(batches):
        deliver_policy_notices.enqueue()
    return count


@task()
def deliver_policy_notices() -> dict:
    """Send up to one batch of due notices (of any kind); come back later for retries."""
    report = notices_deliver(limit=settings.POLICY_NOTICE_BATCH_SIZE)
    if report.retrying and default_task_backend.supports_defer:
        # Sends that failed here come back at their backoff time.
        deliver_policy_notices.using(run_after=report.next_attempt_at).enqueue()
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}
