"""The clinical entries' index for the admin's changelist, every record's entries in its order.
Built concurrently on PostgreSQL, so clinicians' writes go on (``phb.migration_ops``).
"""

from django.db import migrations, models

from phb.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("records", "0004_audit_search_indexes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="clinicalentry",
            index=models.Index(fields=["-occurred_on", "-created_at", "-id"], name="records_entry_recent"),
        ),
    ]
