"""Each appointment keeps its patient-list item (``appointments.list_items``).

On PostgreSQL, triggers keep a kept item from outliving what it was rendered from: a change to the
appointment row clears it, and so does a change to the hospital's name or time zone, the
department's name or a user's name, for the appointments that show them. Only the list's own fill
(which marks its statement with the ``phb.list_item_fill`` setting) writes an item. Adding a
nullable column without a default does not rewrite the table. SQLite keeps no items.
"""

from django.db import migrations, models

GUARD = """
CREATE OR REPLACE FUNCTION appointments_list_item_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('phb.list_item_fill', true) = 'on' THEN
        RETURN NEW;  -- the list's fill: it writes items and nothing else
    END IF;
    IF OLD.list_item IS NULL THEN
        NEW.list_item := NULL;  -- nothing kept to clear, and only the fill keeps an item
    ELSIF (to_jsonb(NEW) - 'list_item') IS DISTINCT FROM (to_jsonb(OLD) - 'list_item') THEN
        NEW.list_item := NULL;  -- the appointment changed
    ELSIF NEW.list_item IS NOT NULL THEN
        NEW.list_item := OLD.list_item;  -- an item written back by anything but the fill
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER appointments_list_item_guard BEFORE UPDATE ON appointments_appointment
    FOR EACH ROW EXECUTE FUNCTION appointments_list_item_guard();
"""

# (table, the columns an item shows, the appointment column that points at the row)
SOURCES = [
    ("hospitals_hospital", ("name", "time_zone"), "hospital_id"),
    ("hospitals_department", ("name",), "department_id"),
    ("accounts_user", ("full_name",), "doctor_id"),
]


def _source_sql(table: str, columns: tuple[str, ...], pointer: str) -> str:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    return f"""
CREATE OR REPLACE FUNCTION {table}_clears_list_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE appointments_appointment SET list_item = NULL WHERE {pointer} = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER {table}_clears_list_items AFTER UPDATE ON {table}
    FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {table}_clears_list_items();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(GUARD)
    for table, columns, pointer in SOURCES:
        schema_editor.execute(_source_sql(table, columns, pointer))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _columns, _pointer in SOURCES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_clears_list_items ON {table}; "
                              f"DROP FUNCTION IF EXISTS {table}_clears_list_items()")
    schema_editor.execute("DROP TRIGGER IF EXISTS appointments_list_item_guard ON appointments_appointment; "
                          "DROP FUNCTION IF EXISTS appointments_list_item_guard()")


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0007_admin_list_indexes"),
        ("accounts", "0007_user_tracking_days_version"),
        ("hospitals", "0007_hospital_profile"),
    ]

    operations = [
        migrations.AddField(
            model_name="appointment",
            name="list_item",
            field=models.TextField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(forwards, backwards),
    ]
