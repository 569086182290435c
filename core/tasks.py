"""The seed's tasks (SEED.md "Available Tasks"): thin adapters around services.

Built here: `health_check` and `process_bulk_claims`. The other four are defined under their seed
names in their own apps and imported here: `send_notification_email` (notifications/tasks.py),
`generate_daily_reports` (reports/tasks.py), `cache_warmup` and `cleanup_expired_cache`
(core/cache_tasks.py).
"""

import logging

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.conf import settings

from core.cache_tasks import cache_warmup, cleanup_expired_cache  # noqa: F401 - the seed imports them from here
from core.health import run_health_checks
from core.store_first import StoreFirstTask
from core.transient import TRANSIENT_ERRORS, retry_transient
from notifications.tasks import send_notification_email  # noqa: F401 - the seed's name for it
from reports.tasks import generate_daily_reports  # noqa: F401 - the seed imports it from here

logger = logging.getLogger(__name__)


class BulkJobTask(StoreFirstTask, DjangoTask):
    """`process_bulk_claims.delay(claim_ids)` stores the job (with its claim IDs) and publishes only its id.

    The row is written in the caller's process and transaction and the message is published when that
    commits (core/store_first.py), so a job is never lost between the two, the broker and the stored
    result carry `job_id` and not a million IDs, and the sweep can always plan the job again from its
    row. Bad input raises BulkInputError right here, in the caller.
    """

    message_arguments = frozenset({"job_id"})

    def store(self, args: tuple, kwargs: dict) -> dict:
        from claims.services import bulk_job_create

        if args:
            if len(args) > 1 or "claim_ids" in kwargs:
                raise TypeError("process_bulk_claims takes one positional argument, the list of claim IDs")
            kwargs["claim_ids"] = args[0]
        if kwargs.get("job_id") is not None:
            raise TypeError("give process_bulk_claims claim_ids or job_id, not both")
        unknown = sorted(set(kwargs) - {"claim_ids", "job_id"})
        if unknown:
            raise TypeError(f"process_bulk_claims got unexpected arguments: {', '.join(unknown)}")
        job = bulk_job_create(claim_ids=kwargs.get("claim_ids") or [])
        return {"job_id": job.id}


# The coordinator decides chunks itself for BULK_COORDINATOR_SECONDS at most, then returns; the
# chunks it handed out go on as their own tasks. So no task runs for long (DESIGN.md: "Jobs end").
@shared_task(bind=True, base=BulkJobTask, soft_time_limit=240, time_limit=300)
def process_bulk_claims(self, claim_ids: list[int] | None = None, job_id: int | None = None) -> dict:
    """Adjudicate these claims (whole families, in parallel chunks); returns the job's summary.

    Called directly (the seed's first example) it decides every chunk before it returns. Through a
    worker it returns the summary when the job ended within BULK_COORDINATOR_SECONDS, else the progress
    so far (status "running"); the job row and the API follow it to the end. Unknown IDs are counted
    as not found.
    """
    from claims.services import bulk_job_run

    budget = None if self.request.called_directly else settings.BULK_COORDINATOR_SECONDS
    try:
        return bulk_job_run(job_id=job_id, claim_ids=claim_ids, task_id=self.request.id, budget=budget)
    except TRANSIENT_ERRORS as exc:
        if self.request.called_directly:
            raise
        raise retry_transient(self, exc) from exc


@shared_task(soft_time_limit=30, time_limit=60)  # routed to "monitoring" by CELERY_TASK_ROUTES
def health_check() -> dict:
    """Every 5 minutes: database, cache, broker and queue depths, workers, disk. Never raises."""
    return run_health_checks(ping_workers=True)
