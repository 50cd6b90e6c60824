"""Topic mail: a message staff write to a list of people, sent through the notices."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("policy", "0014_help_texts_in_plain_words"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Mailing",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "list_key",
                    models.CharField(
                        help_text="Who it is for: the people who chose this topic, at the moment it is sent.",
                        max_length=100,
                        verbose_name="list",
                    ),
                ),
                ("list_name", models.CharField(editable=False, max_length=200)),
                (
                    "subject",
                    models.CharField(help_text="The email's subject line.", max_length=200),
                ),
                (
                    "body",
                    models.TextField(
                        help_text="The email's text in Markdown. Raw HTML is not allowed. A line saying why the person gets it, and a link to stop, are added at the end."
                    ),
                ),
                ("body_html", models.TextField(editable=False)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "audience",
                    models.TextField(
                        blank=True, editable=False, help_text="Who it went to, and how many."
                    ),
                ),
                ("sent_at", models.DateTimeField(blank=True, editable=False, null=True)),
            ],
            options={
                "verbose_name": "topic mail",
                "verbose_name_plural": "topic mail",
                "ordering": ["-created_at"],
                "permissions": [("send_mailing", "Can send topic mail")],
            },
        ),
        migrations.RemoveConstraint(
            model_name="notice",
            name="notice_is_about_one_thing",
        ),
        migrations.AddField(
            model_name="mailing",
            name="created_by",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="mailing",
            name="sent_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="notice",
            name="mailing",
            field=models.ForeignKey(
                blank=True,
                help_text="The mail to a list (a topic's subscribers) this notice carries.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="notices",
                to="policy.mailing",
            ),
        ),
        migrations.AddConstraint(
            model_name="notice",
            constraint=models.UniqueConstraint(
                fields=("mailing", "user"), name="mailing_notice_once_per_user"
            ),
        ),
        migrations.AddConstraint(
            model_name="notice",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("incident__isnull", True),
                        ("mailing__isnull", True),
                        ("version__isnull", False),
                    ),
                    models.Q(
                        ("incident__isnull", False),
                        ("mailing__isnull", True),
                        ("version__isnull", True),
                    ),
                    models.Q(
                        ("incident__isnull", True),
                        ("mailing__isnull", False),
                        ("version__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="notice_is_about_one_thing",
            ),
        ),
    ]
