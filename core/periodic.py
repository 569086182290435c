"""Install periodic tasks as django-celery-beat rows, from data migrations.

A migration installs a schedule once; an admin's later edit (time, queue, enabled) is never
overwritten, because an existing row with the same name is left exactly as it is.
Each task's own issue installs its schedule, so beat never sends a task no worker knows.
"""

from __future__ import annotations


def install_periodic_task(
    apps,
    *,
    name: str,
    task: str,
    queue: str,
    description: str,
    every_minutes: int | None = None,
    crontab: dict | None = None,
    expire_seconds: int | None = None,
) -> None:
    """Create the PeriodicTask `name` unless it exists. Schedules are in UTC."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=name).exists():
        return
    schedule = {}
    if every_minutes is not None:
        IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
        schedule["interval"], _ = IntervalSchedule.objects.get_or_create(every=every_minutes, period="minutes")
    else:
        CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
        fields = {"minute": "0", "hour": "*", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}
        schedule["crontab"], _ = CrontabSchedule.objects.get_or_create(**{**fields, **crontab}, timezone="UTC")
    PeriodicTask.objects.create(
        name=name,
        task=task,
        queue=queue,
        exchange=queue,
        routing_key=queue,
        description=description,
        expire_seconds=expire_seconds,
        **schedule,
    )


def remove_periodic_task(apps, *, name: str) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()
