"""The audit trail's indexes for the admin's search by request and object id.

The audit table is the largest and is written on every request that touches PHI, so on
PostgreSQL the indexes are built with ``CREATE INDEX CONCURRENTLY``: writes go on while they build.
"""

from django.db import migrations, models

INDEXES = [
    models.Index(fields=["request_id"], name="records_audit_request"),
    models.Index(fields=["object_id"], name="records_audit_object"),
]


def _concurrently(schema_editor) -> dict:
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def forwards(apps, schema_editor):
    model = apps.get_model("records", "AuditEvent")
    for index in INDEXES:
        schema_editor.add_index(model, index, **_concurrently(schema_editor))


def backwards(apps, schema_editor):
    model = apps.get_model("records", "AuditEvent")
    for index in INDEXES:
        schema_editor.remove_index(model, index, **_concurrently(schema_editor))


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("records", "0003_list_order_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[migrations.AddIndex(model_name="auditevent", index=index) for index in INDEXES],
        ),
    ]
