"""Issue 11: the daily cleanup (`cleanup_expired_cache`, 03:00) deletes expired task results in batches,
so Celery's own `celery.backend_cleanup` (04:00, one DELETE of every expired row in one transaction:
django-celery-results' `delete_expired`) is disabled, not deleted: django-celery-beat's DatabaseScheduler
re-creates that row, enabled, at every beat start when it is missing (install_default_entries), but
leaves an existing row's `enabled` alone. An admin may enable it again; both then delete the same rows,
harmlessly, the batched one first.
"""

from django.db import migrations

OLD_DESCRIPTION = "Daily 03:00 UTC: delete expired database-cache rows, or superseded reference keys on Redis."
NEW_DESCRIPTION = (
    "Daily 03:00 UTC, the daily cleanup: expired cache entries, task results older than CELERY_RESULT_EXPIRES, "
    "personal data of e-mails older than NOTIFICATION_RETENTION_DAYS, and every step apps register "
    "(core/hygiene.py); in batches, within a time budget."
)
REPLACED = "Replaced by cleanup_expired_cache (03:00), which deletes expired results in batches (core/hygiene.py)."


def forwards(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name="celery.backend_cleanup").update(enabled=False, description=REPLACED)
    # Only the text this project installed: an admin's own description stays.
    PeriodicTask.objects.filter(name="cleanup_expired_cache", description=OLD_DESCRIPTION).update(
        description=NEW_DESCRIPTION
    )


def backwards(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name="celery.backend_cleanup", description=REPLACED).update(
        enabled=True, description="Daily 04:00: delete task results older than CELERY_RESULT_EXPIRES."
    )
    PeriodicTask.objects.filter(name="cleanup_expired_cache", description=NEW_DESCRIPTION).update(
        description=OLD_DESCRIPTION
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0005_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
