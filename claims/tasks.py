"""The claims app's tasks: the seed's `process_bulk_claims` (published under its seed name
"core.tasks.process_bulk_claims", and re-exported by core/tasks.py), its chunk subtasks and the sweep.

Tasks import services, never the reverse (pyproject.toml [tool.importlinter]): a service that enqueues
a task asks the Celery app for it by name (core/enqueue.py).
"""

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.conf import settings

from claims.services import bulk_job_create, bulk_job_run, bulk_jobs_sweep, chunk_adjudicate
from core.store_first import StoreFirstTask
from core.transient import TRANSIENT_ERRORS, retry_transient


class BulkJobTask(StoreFirstTask, DjangoTask):
    """`process_bulk_claims.delay(claim_ids)` stores the job (with its claim IDs) and publishes only its id.

    The row is written in the caller's process and transaction and the message is published when that
    commits (core/store_first.py), so a job is never lost between the two, the broker and the stored
    result carry `job_id` and not a million IDs, and the sweep can always plan the job again from its
    row. Bad input raises BulkInputError right here, in the caller.
    """

    message_arguments = frozenset({"job_id"})

    def store(self, args: tuple, kwargs: dict) -> dict:
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
# The name is the seed's: routes, beat rows and stored results name the task "core.tasks.…".
@shared_task(bind=True, base=BulkJobTask, name="core.tasks.process_bulk_claims", soft_time_limit=240, time_limit=300)
def process_bulk_claims(self, claim_ids: list[int] | None = None, job_id: int | None = None) -> dict:
    """Adjudicate these claims (whole families, in parallel chunks); returns the job's summary.

    Called directly (the seed's first example) it decides every chunk before it returns. Through a
    worker it returns the summary when the job ended within BULK_COORDINATOR_SECONDS, else the progress
    so far (status "running"); the job row and the API follow it to the end. Unknown IDs are counted
    as not found.
    """
    budget = None if self.request.called_directly else settings.BULK_COORDINATOR_SECONDS
    try:
        return bulk_job_run(job_id=job_id, claim_ids=claim_ids, task_id=self.request.id, budget=budget)
    except TRANSIENT_ERRORS as exc:
        if self.request.called_directly:
            raise
        raise retry_transient(self, exc) from exc


# A chunk of BULK_CHUNK_SIZE claims takes about a second; the limits leave room for a slow database
# and keep Redis's visibility timeout (above the longest hard limit) in minutes.
@shared_task(bind=True, ignore_result=True, soft_time_limit=120, time_limit=150)
def adjudicate_chunk(self, chunk_id: int) -> None:
    """Decide one chunk of a bulk job if nobody has yet; results live on the job row, not the backend."""
    try:
        chunk_adjudicate(chunk_id=chunk_id)
    except TRANSIENT_ERRORS as exc:
        raise retry_transient(self, exc) from exc


@shared_task(bind=True, soft_time_limit=50, time_limit=60, expires=60)
def sweep_bulk_jobs(self) -> dict:
    """Every minute: resume bulk jobs that stopped moving, fail those that cannot finish (with the reason)."""
    try:
        return bulk_jobs_sweep()
    except TRANSIENT_ERRORS as exc:
        raise retry_transient(self, exc) from exc
