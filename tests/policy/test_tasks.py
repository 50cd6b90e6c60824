"""The production task path: publishing queues tasks in the database, and db_worker sends."""

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from policy.models import Notice
from policy.services.versions import version_publish
from tests.factories import make_material_draft

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.POLICY_NOTICE_BATCH_SIZE = 2


def test_publishing_queues_tasks_that_db_worker_runs(privacy, people, database_tasks, mailoutbox):
    version_publish(version=make_material_draft(privacy), by=None)
    assert mailoutbox == []  # nothing is sent by the publishing request itself
    assert DBTaskResult.objects.filter(status="READY").count() == 1

    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)

    # The creation task queued ceil(3 / 2) = 2 delivery tasks, which shared the work.
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 3
    assert sorted(m.to[0] for m in mailoutbox) == [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
    ]
    assert set(Notice.objects.values_list("status", flat=True)) == {"sent"}
