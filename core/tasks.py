"""The seed's tasks (SEED.md "Available Tasks"): thin adapters around services.

Built here: `health_check` and `process_bulk_claims`. The other four are defined under their seed
names in their own apps and imported here: `send_notification_email` (notifications/tasks.py),
`generate_daily_reports` (reports/tasks.py), `cache_warmup` and `cleanup_expired_cache`
(core/cache_tasks.py).
"""

import logging

from celery import shared_task

from core.cache_tasks import cache_warmup, cleanup_expired_cache  # noqa: F401 - the seed imports them from here
from core.health import run_health_checks
from notifications.tasks import send_notification_email  # noqa: F401 - the seed's name for it
from reports.tasks import generate_daily_reports  # noqa: F401 - the seed imports it from here

logger = logging.getLogger(__name__)


@shared_task(bind=True, soft_time_limit=3300, time_limit=3600)
def process_bulk_claims(self, claim_ids: list[int], job_id: int | None = None) -> dict:
    """Adjudicate these claims (whole families, in parallel chunks); returns the job's summary.

    Bad input (not a list of positive integers) fails at once with a clear error; unknown IDs are
    counted as not found. A redelivered task resumes its job instead of starting another.
    """
    from claims.services import bulk_job_run

    return bulk_job_run(claim_ids=claim_ids, job_id=job_id, task_id=self.request.id)


@shared_task(soft_time_limit=30, time_limit=60)  # routed to "monitoring" by CELERY_TASK_ROUTES
def health_check() -> dict:
    """Every 5 minutes: database, cache, broker and queue depths, workers, disk. Never raises."""
    return run_health_checks(ping_workers=True)
