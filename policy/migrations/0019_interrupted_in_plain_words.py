"""Notices a dead worker left are failed with an explanation (policy.models.INTERRUPTED); its
words changed, and the notice list finds such notices by them, so the old words are updated."""

from django.db import migrations

OLD = (
    "The worker stopped while sending, so delivery is unknown. It is not retried "
    "automatically, because a retry could send it twice: check the mail log, then requeue it."
)
# The words as this migration writes them, kept here: later changes need a migration of their own.
NEW = (
    "Interrupted: the background worker stopped while sending this, so it may or may not have "
    "arrived. It was not sent again on its own, so that nobody gets it twice. “Send failed "
    "notices again” sends it anyway; the person may then get it twice."
)


def forwards(apps, schema_editor):
    apps.get_model("policy", "Notice").objects.filter(last_error=OLD).update(last_error=NEW)


def backwards(apps, schema_editor):
    apps.get_model("policy", "Notice").objects.filter(last_error=NEW).update(last_error=OLD)


class Migration(migrations.Migration):
    dependencies = [("policy", "0018_notice_email_last_tried")]

    operations = [migrations.RunPython(forwards, backwards)]
