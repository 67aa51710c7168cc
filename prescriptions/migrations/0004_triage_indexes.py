"""The pharmacy's triage queue in its order (most urgent first, then oldest), of one status and of
every one, and the requests a pharmacy reviewed on a day: a page and the queue's counters read
the pharmacy's rows through these instead of sorting or scanning its whole history. Built
concurrently on PostgreSQL (``phb.migration_ops``)."""

from django.db import migrations, models

from phb.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("prescriptions", "0003_admin_list_indexes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="prescriptionrequest",
            index=models.Index(fields=["pharmacy", "status", "-triage_score", "created_at", "id"],
                               name="rx_request_triage_status"),
        ),
        AddIndexConcurrently(
            model_name="prescriptionrequest",
            index=models.Index(fields=["pharmacy", "-triage_score", "created_at", "id"], name="rx_request_triage"),
        ),
        AddIndexConcurrently(
            model_name="prescriptionrequest",
            index=models.Index(fields=["pharmacy", "pharmacist_reviewed_at"], name="rx_request_reviewed"),
        ),
    ]
