"""A run after a gap (no run stored for HEALTH_RUN_GAP_SECONDS) says so: the "resumed" alert (issue 11)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0008_health_run_roles")]

    operations = [
        migrations.AlterField(
            model_name="healthcheckrun",
            name="alert",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "None"),
                    ("down", "Turned unhealthy"),
                    ("recovered", "Recovered"),
                    ("resumed", "Checks resumed after a gap"),
                ],
                default="",
                max_length=10,
            ),
        ),
    ]
