"""On PostgreSQL, make the database itself refuse to change or delete a published version.

Only who-created/who-published may change (they are set to NULL when a user is deleted).
SQLite gets no trigger: Django rebuilds SQLite tables on schema changes, which would drop
it silently, so there the model's rules are the guard.
"""

from django.db import migrations

CREATE = """
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
    IF (to_jsonb(NEW) - 'created_by_id' - 'published_by_id')
        IS DISTINCT FROM (to_jsonb(OLD) - 'created_by_id' - 'published_by_id') THEN
        RAISE EXCEPTION 'policy version % is published and cannot be changed', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER policy_version_immutable
    BEFORE UPDATE OR DELETE ON policy_policyversion
    FOR EACH ROW EXECUTE FUNCTION policy_version_refuse_published_change();
"""

DROP = """
DROP TRIGGER IF EXISTS policy_version_immutable ON policy_policyversion;
DROP FUNCTION IF EXISTS policy_version_refuse_published_change();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("policy", "0002_seed_privacy_policy")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
