"""The audit trail's indexes for the admin's search by request and object id.

The audit table is the largest and is written on every request that touches PHI, so on
PostgreSQL the indexes are built with ``CREATE INDEX CONCURRENTLY``: writes go on while they build.
"""

from django.db import migrations, models

from phb.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("records", "0003_list_order_indexes"),
    ]

    operations = [
        AddIndexConcurrently(model_name="auditevent", index=models.Index(fields=["request_id"], name="records_audit_request")),
        AddIndexConcurrently(model_name="auditevent", index=models.Index(fields=["object_id"], name="records_audit_object")),
    ]
