"""Issue 11: every run of the health_check task is stored (HealthCheckRun); the newest one is what the next
run compares with to decide whether the admins are e-mailed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_daily_cleanup_replaces_backend_cleanup"),
    ]

    operations = [
        migrations.CreateModel(
            name="HealthCheckRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("started_at", models.DateTimeField(db_index=True)),
                ("finished_at", models.DateTimeField()),
                ("duration_ms", models.FloatField()),
                (
                    "status",
                    models.CharField(choices=[("healthy", "Healthy"), ("unhealthy", "Unhealthy")], max_length=10),
                ),
                ("components", models.JSONField(default=dict)),
                (
                    "alert",
                    models.CharField(
                        blank=True,
                        choices=[("", "None"), ("down", "Turned unhealthy"), ("recovered", "Recovered")],
                        default="",
                        max_length=10,
                    ),
                ),
            ],
            options={"db_table": "core_health_check_run", "ordering": ["-id"]},
        ),
    ]
