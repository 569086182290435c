"""requeue_overdue_notifications every minute instead of every 10 (issue 8: a decision e-mail whose
publish failed goes out within about a minute of the broker coming back). An interval an admin has
changed from the installed 10 minutes is left as it is."""

from django.db import migrations

NAME = "requeue_overdue_notifications"


def every(minutes_from: int, minutes_to: int):
    def change(apps, schema_editor):
        PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
        IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
        task = PeriodicTask.objects.filter(name=NAME, interval__every=minutes_from, interval__period="minutes").first()
        if task is None:
            return
        task.interval, _ = IntervalSchedule.objects.get_or_create(every=minutes_to, period="minutes")
        task.expire_seconds = 60 * minutes_to
        task.description = f"Every {minutes_to} minute(s): enqueue again queued e-mails whose message was lost."
        task.save()

    return change


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_periodic_tasks")]

    operations = [migrations.RunPython(every(10, 1), every(1, 10))]
