"""A notice outlives its person: kept without them, under the subject id of their erasure."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("policy", "0011_notice_fanout"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="notice",
            name="subject_id",
            field=models.UUIDField(
                blank=True, help_text="A random id that replaces the person on erasure.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="notice",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "pending"),
                    ("sending", "sending"),
                    ("sent", "sent"),
                    ("failed", "failed"),
                    ("cancelled", "not sent: the person's data was erased"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="notice",
            name="user",
            field=models.ForeignKey(
                help_text="Empty once the person's data is erased; see the subject id.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="notices",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
