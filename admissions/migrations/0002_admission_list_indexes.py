from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("admissions", "0001_initial"),
    ]

    operations = [
        # Both indexes below begin with (hospital, status).
        migrations.RemoveIndex(
            model_name="admission",
            name="admission_hospital_status",
        ),
        migrations.AddIndex(
            model_name="admission",
            index=models.Index(fields=["hospital", "status", "discharged_at"], name="admission_hosp_discharged"),
        ),
        migrations.AddIndex(
            model_name="admission",
            index=models.Index(fields=["hospital", "status", "cancelled_at"], name="admission_hosp_cancelled"),
        ),
    ]
