"""The seed's tasks (SEED.md "Available Tasks"): thin adapters around services.

Built so far: `health_check`. The other five come with their own issues (claims, notifications,
reports and cache); they are not defined here yet, and beat does not schedule them yet.
"""

import logging

from celery import shared_task

from core.health import run_health_checks

logger = logging.getLogger(__name__)


@shared_task(soft_time_limit=30, time_limit=60)  # routed to "monitoring" by CELERY_TASK_ROUTES
def health_check() -> dict:
    """Every 5 minutes: database, cache, broker and queue depths, workers, disk. Never raises."""
    return run_health_checks(ping_workers=True)
