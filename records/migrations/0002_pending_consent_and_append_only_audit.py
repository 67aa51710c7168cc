from django.db import migrations, models

# On PostgreSQL the audit table refuses UPDATE and DELETE in the database itself, so not even
# raw SQL through the application's connection can rewrite the trail. (TRUNCATE, used by test
# database flushes, is a separate privilege and is not affected.)
APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION records_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'records_auditevent is append-only';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS records_auditevent_no_change ON records_auditevent;
CREATE TRIGGER records_auditevent_no_change
    BEFORE UPDATE OR DELETE ON records_auditevent
    FOR EACH ROW EXECUTE FUNCTION records_auditevent_append_only();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS records_auditevent_no_change ON records_auditevent;
DROP FUNCTION IF EXISTS records_auditevent_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0001_initial"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="accessconsent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "pending")),
                fields=("clinician", "patient"),
                name="records_one_pending_consent",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
