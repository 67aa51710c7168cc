"""Indexes for the admin's changelists of consents and patients' documents: each newest first, and a
document by its content hash. Built concurrently on PostgreSQL (``phb.migration_ops``)."""

from django.db import migrations, models

from phb.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("records", "0005_admin_entry_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="accessconsent",
            index=models.Index(fields=["-requested_at", "-id"], name="records_consent_recent"),
        ),
        AddIndexConcurrently(
            model_name="patientdocument",
            index=models.Index(fields=["-created_at", "-id"], name="records_doc_recent"),
        ),
        AddIndexConcurrently(
            model_name="patientdocument",
            index=models.Index(fields=["sha256"], name="records_doc_sha256"),
        ),
    ]
