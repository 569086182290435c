"""Subtasks of bulk adjudication (the seed's `process_bulk_claims` itself lives in core/tasks.py)."""

from celery import shared_task

from claims.services import chunk_adjudicate


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def adjudicate_chunk(chunk_id: int) -> None:
    """Decide one chunk of a bulk job if nobody has yet; results live on the job row, not the backend."""
    chunk_adjudicate(chunk_id=chunk_id)
