"""The payments' indexes for the admin: its changelist in order, its search by the provider's
transaction id. Built concurrently on PostgreSQL, so checkouts go on (``phb.migration_ops``).
"""

from django.db import migrations, models

from phb.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("payments", "0003_payment_list_order_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="payment",
            index=models.Index(fields=["-created_at", "-id"], name="payment_recent"),
        ),
        AddIndexConcurrently(
            model_name="payment",
            index=models.Index(fields=["provider_transaction_id"], name="payment_provider_transaction"),
        ),
    ]
