"""Names on a breach notice's list that matched no account are kept on the record."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("policy", "0012_notice_kept_after_erasure"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="unmatched",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="Names on the list of recipients that matched no account, one per line.",
                verbose_name="names that matched nobody",
            ),
        ),
        migrations.AlterField(
            model_name="incident",
            name="audience",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="How the recipients were chosen, and how many.",
            ),
        ),
    ]
