"""Subtasks of bulk adjudication and its sweep (the seed's `process_bulk_claims` lives in core/tasks.py)."""

from celery import shared_task

from claims.services import bulk_jobs_sweep, chunk_adjudicate
from core.transient import TRANSIENT_ERRORS, retry_transient


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
