"""Beat's schedule is installed by a migration, in UTC, on the seed's queues, and never overwritten."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask

import core.tasks  # noqa: F401 - registers the seed's tasks, as a worker does (the file may run alone)
from backend.celery import app

migration = __import__("core.migrations.0001_periodic_tasks", fromlist=["install"])


@pytest.mark.django_db(transaction=True)
def test_the_migration_installs_health_check_and_result_cleanup():
    call_command("migrate", "core", "zero", verbosity=0)
    assert not PeriodicTask.objects.filter(name="health_check").exists()
    # Every app forward again, not only core: unapplying core also unapplied the migrations that depend
    # on it (the roles' grants, and after them claims' later migrations), which later tests need.
    call_command("migrate", verbosity=0)

    health = PeriodicTask.objects.get(name="health_check")
    assert (health.task, health.queue, health.enabled) == ("core.tasks.health_check", "monitoring", True)
    assert (health.interval.every, health.interval.period) == (5, "minutes")
    assert health.task in app.tasks  # beat never sends a task no worker knows

    cleanup = PeriodicTask.objects.get(name="celery.backend_cleanup")
    assert (cleanup.crontab.minute, cleanup.crontab.hour, str(cleanup.crontab.timezone)) == ("0", "4", "UTC")


@pytest.mark.django_db
def test_installing_again_never_overwrites_an_admins_edit():
    PeriodicTask.objects.all().delete()
    migration.install(apps, None)
    edited = PeriodicTask.objects.get(name="health_check")
    edited.enabled = False
    edited.queue = "default"
    edited.save()

    migration.install(apps, None)  # what a re-run would do
    edited.refresh_from_db()
    assert (edited.enabled, edited.queue) == (False, "default")
    assert PeriodicTask.objects.filter(name="health_check").count() == 1


@pytest.mark.django_db
def test_every_scheduled_task_is_known_and_routed_to_its_queue():
    PeriodicTask.objects.all().delete()
    migration.install(apps, None)
    for task in PeriodicTask.objects.all():
        assert task.task in app.tasks, task.name
        routed = app.amqp.router.route({}, task.task)["queue"].name
        assert routed == task.queue, task.name
    assert not CrontabSchedule.objects.exclude(timezone="UTC").exists()
