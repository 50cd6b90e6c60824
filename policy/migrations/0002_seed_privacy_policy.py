"""Load New Image MedSpa's privacy policy of 2006 (last revised January 3, 2009) as version 1."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import migrations

from policy.rendering import content_hash, render_markdown

SEED = Path(__file__).resolve().parent.parent / "seed" / "privacy-v1.md"
EASTERN = ZoneInfo("America/New_York")


def load_seed(apps, schema_editor):
    Document = apps.get_model("policy", "Document")
    PolicyVersion = apps.get_model("policy", "PolicyVersion")
    document, _ = Document.objects.get_or_create(
        slug="privacy", defaults={"title": "Privacy Policy"}
    )
    if PolicyVersion.objects.filter(document=document).exists():
        return  # never overwrite a policy that is already there
    title = "Privacy Policy"
    body = SEED.read_text(encoding="utf-8")
    rendered = render_markdown(body)
    PolicyVersion.objects.create(
        document=document,
        number=1,
        title=title,
        body=body,
        body_html=rendered.html,
        toc=[{"level": h.level, "id": h.id, "text": h.text} for h in rendered.headings],
        summary="The privacy policy of www.pamedspa.biz as first published on October 23, 2006 "
        "and last revised on January 3, 2009.",
        published_at=datetime(2006, 10, 23, tzinfo=EASTERN),
        effective_at=datetime(2009, 1, 3, tzinfo=EASTERN),
        sha256=content_hash(title=title, body=body),
    )


class Migration(migrations.Migration):
    dependencies = [("policy", "0001_initial")]

    operations = [migrations.RunPython(load_seed, migrations.RunPython.noop)]
