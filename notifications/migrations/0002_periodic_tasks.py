"""Beat row for the notifications sweeper (installed once; an admin's later edit is kept)."""

from django.db import migrations

from core.periodic import install_periodic_task, remove_periodic_task

NAME = "requeue_overdue_notifications"


def install(apps, schema_editor):
    install_periodic_task(
        apps,
        name=NAME,
        task="notifications.tasks.requeue_overdue_notifications",
        queue="default",
        description="Every 10 minutes: enqueue again queued e-mails long past due (none is lost).",
        every_minutes=10,
        expire_seconds=600,
    )


def remove(apps, schema_editor):
    remove_periodic_task(apps, name=NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, remove)]
