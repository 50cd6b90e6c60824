"""Record each material version's fan-out of notices, so unfinished ones can be finished."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from django.db.models import Min


def record_fanouts(apps, schema_editor):
    """Every material version published so far: done if it has notices, else still to make."""
    PolicyVersion = apps.get_model("policy", "PolicyVersion")
    NoticeFanout = apps.get_model("policy", "NoticeFanout")
    published = PolicyVersion.objects.filter(is_material=True, published_at__isnull=False)
    for version in published.annotate(first=Min("notices__created_at")):
        NoticeFanout.objects.create(
            version=version, created_at=version.published_at, completed_at=version.first
        )


class Migration(migrations.Migration):
    dependencies = [
        ("policy", "0010_export_and_requeue_permissions"),
    ]

    operations = [
        migrations.CreateModel(
            name="NoticeFanout",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("completed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "version",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="fanout",
                        to="policy.policyversion",
                    ),
                ),
            ],
            options={
                "verbose_name": "notice fan-out",
                "ordering": ["-created_at"],
            },
        ),
        migrations.RunPython(record_fanouts, migrations.RunPython.noop),
    ]
