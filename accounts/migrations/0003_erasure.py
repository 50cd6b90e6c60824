"""Erasures of personal data, logged without naming anyone."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_topic_export_permission"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Erasure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("subject_id", models.UUIDField(unique=True)),
                ("erased_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "method",
                    models.CharField(
                        choices=[
                            ("self", "by the person, from their account"),
                            ("staff", "by staff, in the admin"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "erased_by",
                    models.ForeignKey(
                        blank=True,
                        help_text="The staff member who erased the data; empty when the person did it.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "erasure of personal data",
                "verbose_name_plural": "erasures of personal data",
                "ordering": ["-erased_at"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("method__in", ["self", "staff"])),
                        name="erasure_method_known",
                    )
                ],
            },
        ),
    ]
