from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("broker", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="lease_token",
            field=models.BigIntegerField(default=0, db_default=0),
        ),
        migrations.AddField(
            model_name="message",
            name="deliveries",
            field=models.PositiveIntegerField(default=0, db_default=0),
        ),
        migrations.CreateModel(
            name="DeadLetter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("queue", models.CharField(max_length=200)),
                ("rank", models.PositiveSmallIntegerField(default=9)),
                ("payload", models.TextField()),
                ("deliveries", models.PositiveIntegerField(default=0)),
                ("died_at", models.FloatField(default=0, help_text="epoch seconds when it was moved here")),
            ],
            options={
                "db_table": "broker_dead_letter",
                "verbose_name": "dead letter",
            },
        ),
    ]
