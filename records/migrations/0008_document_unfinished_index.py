"""``expire_document_uploads`` reads the uploads never finished, oldest first, from a partial index
(a handful of rows), not from every document ever stored. Built concurrently on PostgreSQL
(``phb.migration_ops``)."""

from django.db import migrations, models

from phb.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("records", "0007_document_upload_state"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="patientdocument",
            index=models.Index(condition=~models.Q(state="stored"), fields=["created_at"],
                               name="records_doc_unfinished"),
        ),
    ]
