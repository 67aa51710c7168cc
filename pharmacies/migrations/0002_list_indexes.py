from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("pharmacies", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="nomination",
            index=models.Index(fields=["patient", "-nominated_at", "-id"], name="nomination_patient_history"),
        ),
        migrations.AddIndex(
            model_name="pharmacy",
            index=models.Index(fields=["name", "id"], name="pharmacy_name"),
        ),
    ]
