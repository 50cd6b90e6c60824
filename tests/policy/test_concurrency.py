"""Eight staff publishing the same document at once: distinct numbers, no errors, one current."""

import threading

import pytest
from django.db import close_old_connections, connection

from policy.models import PolicyVersion
from tests.factories import make_draft

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need a server database"
    ),
]


@pytest.mark.parametrize("replaces_newer", [True, False])
def test_eight_concurrent_publishes_get_distinct_numbers_and_one_current_version(
    privacy, replaces_newer
):
    """Told to go over each other, all eight publish; otherwise the first does and the seven
    others, which would undo it, are refused: the lock makes each see the one before."""
    from policy.services.versions import version_publish

    drafts = [make_draft(privacy, body=f"## Edit {n}\n\nText {n}.") for n in range(8)]
    start = threading.Barrier(len(drafts))
    errors: list[BaseException] = []

    def publish(draft):
        try:
            start.wait(timeout=30)
            version_publish(version=draft, by=None, replaces_newer=replaces_newer)
        except BaseException as error:  # noqa: BLE001 - any error fails the test below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=publish, args=(draft,)) for draft in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    published = list(privacy.versions.published().order_by("number"))
    numbers = [v.number for v in published]
    if not replaces_newer:
        assert len(errors) == 7, errors
        assert all("this draft undoes the changes of version 2" in str(e) for e in errors)
        assert numbers == [1, 2]
        return
    assert errors == []
    assert len(published) == 9
    assert len(set(numbers)) == 9
    assert sorted(v.effective_at for v in published) == [v.effective_at for v in published]
    current = [v for v in published if v.is_current()]
    assert len(current) == 1
    assert current[0].number == max(numbers)
    assert PolicyVersion.objects.drafts().count() == 0
