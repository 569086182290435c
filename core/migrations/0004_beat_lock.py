"""The beat lock's table: one row per lock, leased by the one beat that may send (issue 9)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0003_database_cache_table")]

    operations = [
        migrations.CreateModel(
            name="BeatLock",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True)),
                (
                    "holder",
                    models.CharField(blank=True, help_text="token of the holding beat; empty = free", max_length=64),
                ),
                ("host", models.CharField(blank=True, max_length=255)),
                ("pid", models.PositiveIntegerField(blank=True, null=True)),
                ("acquired_at", models.DateTimeField(blank=True, null=True)),
                ("renewed_at", models.DateTimeField(blank=True, null=True)),
                ("expires_at", models.DateTimeField(help_text="a standby takes the lock after this")),
            ],
            options={"db_table": "core_beat_lock"},
        ),
    ]
