from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_user_admin_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='tracking_days_version',
            field=models.PositiveIntegerField(default=0, editable=False, help_text="Raised whenever this user's cycle-tracker days are written (tracking.kept_days)"),
        ),
    ]
