from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("prescriptions", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="prescriptionrequest", name="rx_request_hospital_queue"),
        migrations.RemoveIndex(model_name="prescriptionrequest", name="rx_request_patient"),
        migrations.AddIndex(
            model_name="prescriptionrequest",
            index=models.Index(fields=["hospital", "status", "-created_at", "-id"], name="rx_request_hospital_queue"),
        ),
        migrations.AddIndex(
            model_name="prescriptionrequest",
            index=models.Index(fields=["hospital", "-created_at", "-id"], name="rx_request_hospital"),
        ),
        migrations.AddIndex(
            model_name="prescriptionrequest",
            index=models.Index(fields=["patient", "-created_at", "-id"], name="rx_request_patient"),
        ),
    ]
