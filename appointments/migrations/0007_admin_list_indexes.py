"""Indexes for the admin's changelists of prescriptions and booking holds: each newest first, and a
hold by its payment reference. Every consultation and every payment started writes these tables,
so on PostgreSQL the indexes are built concurrently (``phb.migration_ops``)."""

from django.db import migrations, models

from phb.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("appointments", "0006_admin_search_indexes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="prescription",
            index=models.Index(fields=["-issued_at", "-id"], name="prescription_recent"),
        ),
        AddIndexConcurrently(
            model_name="bookinghold",
            index=models.Index(fields=["-created_at", "-id"], name="booking_hold_recent"),
        ),
        AddIndexConcurrently(
            model_name="bookinghold",
            index=models.Index(fields=["payment_reference"], name="booking_hold_payment_reference"),
        ),
    ]
