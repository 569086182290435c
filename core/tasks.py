"""The seed's tasks (SEED.md "Available Tasks"), importable from here exactly as the seed shows:

    from core.tasks import process_bulk_claims, send_notification_email, generate_daily_reports, \
        cache_warmup, cleanup_expired_cache, health_check

Each is a thin adapter around a service, defined in the app whose work it does, under its seed name
`core.tasks.<name>` (routes, beat rows and stored results name them so):

    task                     code                       service it calls
    process_bulk_claims      claims/tasks.py            claims.services.bulk_job_run
    send_notification_email  notifications/tasks.py     notifications.services / sending.py
    generate_daily_reports   reports/tasks.py           reports.services.daily_report_publish
    cache_warmup             core/cache_tasks.py        core.cache_maintenance.cache_warm_up
    cleanup_expired_cache    core/cache_tasks.py        core.hygiene.daily_cleanup
    health_check             here                       core.health.run_health_checks

This is the one module of core that imports domain apps (an `ignore_imports` entry of the import
contract in pyproject.toml): it is the seed's public facade, nothing in core calls it.
"""

from celery import shared_task

from claims.tasks import process_bulk_claims  # noqa: F401 - the seed imports it from here
from core.cache_tasks import cache_warmup, cleanup_expired_cache  # noqa: F401 - the seed imports them from here
from core.health import run_health_checks
from notifications.tasks import send_notification_email  # noqa: F401 - the seed's name for it
from reports.tasks import generate_daily_reports  # noqa: F401 - the seed imports it from here


@shared_task(soft_time_limit=30, time_limit=60)  # routed to "monitoring" by CELERY_TASK_ROUTES
def health_check() -> dict:
    """Every 5 minutes: database, cache, broker and queue depths, workers, disk. Never raises."""
    return run_health_checks(ping_workers=True)
