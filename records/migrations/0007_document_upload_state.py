"""A patient's document is recorded ``pending`` (with its key) before its file is sent to S3, and
marked ``stored`` once S3 took it; documents stored before this are ``stored``. ``claimed_at``: when
``expire_document_uploads`` claimed an upload that never finished."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("records", "0006_admin_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="patientdocument",
            name="state",
            field=models.CharField(
                choices=[("pending", "pending (upload under way)"), ("stored", "stored"),
                         ("removing", "removing (upload never finished)")],
                default="stored", max_length=10),
        ),
        migrations.AddField(
            model_name="patientdocument",
            name="claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
