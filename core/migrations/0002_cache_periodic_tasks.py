"""Beat schedules of the cache tasks, on the cache queue (UTC).

cache_warmup at 02:00 (crontab.guru/#0_2_*_*_*), before the working day and the 06:00 report;
cleanup_expired_cache at 03:00 (crontab.guru/#0_3_*_*_*), after the warm-up superseded yesterday's keys.
"""

from django.db import migrations

from core.periodic import install_periodic_task, remove_periodic_task


def install(apps, schema_editor):
    install_periodic_task(
        apps,
        name="cache_warmup",
        task="core.tasks.cache_warmup",
        queue="cache",
        crontab={"minute": "0", "hour": "2"},
        expire_seconds=6 * 3600,
        description="Daily 02:00 UTC: load plans, the tariff price list, the provider registry and the dashboard.",
    )
    install_periodic_task(
        apps,
        name="cleanup_expired_cache",
        task="core.tasks.cleanup_expired_cache",
        queue="cache",
        crontab={"minute": "0", "hour": "3"},
        expire_seconds=6 * 3600,
        description="Daily 03:00 UTC: delete expired database-cache rows, or superseded reference keys on Redis.",
    )


def uninstall(apps, schema_editor):
    for name in ("cache_warmup", "cleanup_expired_cache"):
        remove_periodic_task(apps, name=name)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_periodic_tasks")]
    operations = [migrations.RunPython(install, uninstall)]
