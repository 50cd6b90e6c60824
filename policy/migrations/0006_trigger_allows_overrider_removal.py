"""Let the PostgreSQL trigger accept NULLing notice_overridden_by when that user is deleted."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION policy_version_refuse_published_change() RETURNS trigger AS $$
BEGIN
    IF OLD.published_at IS NULL THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'policy version % is published and cannot be deleted', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (to_jsonb(NEW) - 'created_by_id' - 'published_by_id' - 'notice_overridden_by_id')
        IS DISTINCT FROM
       (to_jsonb(OLD) - 'created_by_id' - 'published_by_id' - 'notice_overridden_by_id') THEN
        RAISE EXCEPTION 'policy version % is published and cannot be changed', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def replace_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [("policy", "0005_material_changes_and_notices")]

    operations = [migrations.RunPython(replace_function, migrations.RunPython.noop)]
