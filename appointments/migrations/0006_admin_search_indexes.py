"""Indexes for the admin's changelists: appointments in their order and by payment reference,
the scheduler events by a pseudonymous patient key.

Every booking writes both tables, so on PostgreSQL the indexes are built concurrently: bookings
go on while they build (``phb.migration_ops``).
"""

from django.db import migrations, models

from phb.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("appointments", "0005_roster_exception_hospital"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="appointment",
            index=models.Index(fields=["-start", "-id"], name="appointment_recent"),
        ),
        AddIndexConcurrently(
            model_name="appointment",
            index=models.Index(fields=["payment_reference"], name="appointment_payment_reference"),
        ),
        AddIndexConcurrently(
            model_name="schedulingevent",
            index=models.Index(fields=["patient_key"], name="scheduling_event_patient"),
        ),
    ]
