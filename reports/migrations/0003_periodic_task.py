"""Beat schedule of generate_daily_reports: daily 06:00 UTC on the reports queue (crontab.guru/#0_6_*_*_*)."""

from django.db import migrations

from core.periodic import install_periodic_task, remove_periodic_task


def install(apps, schema_editor):
    install_periodic_task(
        apps,
        name="generate_daily_reports",
        task="core.tasks.generate_daily_reports",
        queue="reports",
        crontab={"minute": "0", "hour": "6"},
        expire_seconds=12 * 3600,  # a report still queued at 18:00 is sent by tomorrow's run anyway
        description="Daily 06:00 UTC: summarise yesterday's claims into a DailyReport and e-mail it.",
    )


def uninstall(apps, schema_editor):
    remove_periodic_task(apps, name="generate_daily_reports")


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_claim_day_indexes"), ("core", "0001_periodic_tasks")]
    operations = [migrations.RunPython(install, uninstall)]
