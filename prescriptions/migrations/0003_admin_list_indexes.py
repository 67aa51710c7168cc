"""The admin's changelists of prescription requests and signed items, newest first. Patients,
prescribers and pharmacists write both tables all day, so on PostgreSQL the indexes are built
concurrently (``phb.migration_ops``)."""

from django.db import migrations, models

from phb.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("prescriptions", "0002_request_list_indexes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="prescriptionrequest",
            index=models.Index(fields=["-created_at", "-id"], name="rx_request_recent"),
        ),
        AddIndexConcurrently(
            model_name="signeditem",
            index=models.Index(fields=["-created_at", "-id"], name="rx_item_recent"),
        ),
    ]
