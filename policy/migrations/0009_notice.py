"""A notice may announce a policy change or a breach: PolicyNotice becomes Notice.

The table, its rows and its permissions are renamed, not recreated. Also: a published version
must have a summary (the database now refuses one without), and an acceptance's version has a
reverse name, so the review rule can ask for it.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def rename_permissions(apps, schema_editor, old="policynotice", new="notice", label="notice"):
    """Keep any group's or user's notice permissions under the new codenames."""
    Permission = apps.get_model("auth", "Permission")
    for action in ("add", "change", "delete", "view"):
        Permission.objects.filter(
            content_type__app_label="policy", codename=f"{action}_{old}"
        ).update(codename=f"{action}_{new}", name=f"Can {action} {label}")


def restore_permissions(apps, schema_editor):
    rename_permissions(
        apps, schema_editor, old="notice", new="policynotice", label="policy change notice"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("policy", "0008_contact_and_incidents"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel("PolicyNotice", "Notice"),
        migrations.AlterModelOptions(
            name="notice", options={"ordering": ["version", "pk"], "verbose_name": "notice"}
        ),
        migrations.RenameIndex(
            model_name="notice",
            new_name="policy_noti_status_e8b5bc_idx",
            old_name="policy_poli_status_b8c6b3_idx",
        ),
        migrations.AlterField(
            model_name="notice",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notices",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="notice",
            name="version",
            field=models.ForeignKey(
                blank=True,
                help_text="The material policy change this notice announces.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="notices",
                to="policy.policyversion",
            ),
        ),
        migrations.AlterField(
            model_name="notice",
            name="incident",
            field=models.ForeignKey(
                blank=True,
                help_text="The breach this notice announces.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="notices",
                to="policy.incident",
            ),
        ),
        migrations.AlterField(
            model_name="acceptance",
            name="version",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="acceptances",
                to="policy.policyversion",
            ),
        ),
        migrations.AddConstraint(
            model_name="policyversion",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("published_at__isnull", True),
                    models.Q(("summary", ""), _negated=True),
                    _connector="OR",
                ),
                name="policy_version_published_has_summary",
            ),
        ),
        migrations.RunPython(rename_permissions, restore_permissions),
    ]
