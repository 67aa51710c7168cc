"""Registrations declined before a declined registration stopped being primary: no longer the
patient's primary hospital, so she is asked to choose one again."""

from django.db import migrations


def unset_rejected_primaries(apps, schema_editor):
    registration = apps.get_model("hospitals", "HospitalRegistration")
    registration.objects.filter(status="rejected", is_primary=True).update(is_primary=False)


class Migration(migrations.Migration):
    dependencies = [("hospitals", "0008_staff_license_details")]

    operations = [migrations.RunPython(unset_rejected_primaries, migrations.RunPython.noop)]
