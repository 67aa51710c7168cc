"""Partial indexes for ``expire_imaging_uploads``: the studies still waiting for their upload, by
when their window closed, and removals under way, by when they were claimed. Built concurrently on
PostgreSQL (``phb.migration_ops``)."""

from django.db import migrations, models

from phb.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("storage", "0004_list_order_indexes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="imagingstudy",
            index=models.Index(condition=models.Q(("status", "pending")), fields=["upload_expires_at"],
                               name="imaging_pending_expiry"),
        ),
        AddIndexConcurrently(
            model_name="imagingstudy",
            index=models.Index(condition=models.Q(("rejection_reason__startswith", "removing: "), ("status", "rejected")),
                               fields=["completed_at"], name="imaging_removing_claimed"),
        ),
    ]
