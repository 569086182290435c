"""Beat schedules of the platform issue: health_check and Celery's result cleanup (UTC).

cache_warmup (02:00), cleanup_expired_cache (03:00) and generate_daily_reports (06:00) are
installed by the migrations of the issues that build those tasks.
"""

from django.db import migrations

from core.periodic import install_periodic_task, remove_periodic_task


def install(apps, schema_editor):
    install_periodic_task(
        apps,
        name="health_check",
        task="core.tasks.health_check",
        queue="monitoring",
        every_minutes=5,
        expire_seconds=240,  # a check still queued when the next one is due is worthless
        description="Every 5 minutes: database, cache, broker, workers and disk.",
    )
    # Named exactly like beat's own default entry, so beat finds it and never re-creates or overwrites it.
    install_periodic_task(
        apps,
        name="celery.backend_cleanup",
        task="celery.backend_cleanup",
        queue="default",
        crontab={"minute": "0", "hour": "4"},
        expire_seconds=12 * 3600,
        description="Daily 04:00: delete task results older than CELERY_RESULT_EXPIRES.",
    )


def uninstall(apps, schema_editor):
    for name in ("health_check", "celery.backend_cleanup"):
        remove_periodic_task(apps, name=name)


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(install, uninstall)]
