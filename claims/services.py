"""Bulk adjudication jobs: validate, plan whole-family chunks, decide them in parallel, report.

`bulk_job_run` is what `process_bulk_claims` runs. It plans the job's chunks (whole families, fixed
order), publishes one subtask per chunk so idle workers help, and takes chunks itself until none is
left, then waits only for chunks other workers are deciding at that moment. It never waits on work
queued behind it, so it cannot deadlock a busy pool. Each chunk is taken with `SELECT ... FOR UPDATE
SKIP LOCKED` and marked done in the same transaction as its decisions: a worker killed mid-chunk
rolls back and the chunk is taken again; a redelivered job (same task id) resumes its own job.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from claims.adjudication.engine import Outcome, adjudicate_claims_in_transaction
from claims.models import BulkClaimChunk, BulkClaimJob, Claim
from members.models import Member

logger = logging.getLogger(__name__)

MAX_BULK_IDS = 1_000_000
ID_BATCH = 10_000  # SQLite allows 32,766 parameters per statement
WAIT_FOR_OTHERS = 0.1  # seconds between looks at chunks other workers are deciding


class BulkInputError(ValueError):
    """The claim IDs given to a bulk job are not a usable list of IDs."""


def claim_ids_validate(claim_ids) -> list[int]:
    """A sorted list of distinct positive IDs, or a BulkInputError that says what is wrong."""
    if isinstance(claim_ids, str | bytes | dict) or not isinstance(claim_ids, list | tuple):
        raise BulkInputError(f"claim_ids must be a list of claim IDs (integers), e.g. [1, 2, 3]; got {claim_ids!r:.60}")
    if not claim_ids:
        raise BulkInputError("claim_ids is empty: give at least one claim ID")
    if len(claim_ids) > MAX_BULK_IDS:
        raise BulkInputError(f"{len(claim_ids)} claim IDs in one job; at most {MAX_BULK_IDS}")
    bad = [value for value in claim_ids if isinstance(value, bool) or not isinstance(value, int) or value < 1]
    if bad:
        raise BulkInputError(f"claim IDs must be positive integers; not: {bad[:5]!r}{' ...' if len(bad) > 5 else ''}")
    return sorted(set(claim_ids))


def bulk_job_start(*, claim_ids: list[int] | None) -> BulkClaimJob:
    """Create a job for `claim_ids` (None: every pending claim) and enqueue it once this transaction commits."""
    from core.tasks import process_bulk_claims

    if claim_ids is None:
        ids = list(Claim.objects.filter(status=Claim.Status.PENDING).order_by("id").values_list("id", flat=True))
        if not ids:
            raise BulkInputError("there are no pending claims")
    else:
        ids = claim_ids_validate(claim_ids)
    job = BulkClaimJob.objects.create(requested=len(ids))
    process_bulk_claims.delay_on_commit(ids, job_id=job.id)
    return job


def bulk_job_run(*, claim_ids, job_id: int | None = None, task_id: str | None = None) -> dict:
    ids = claim_ids_validate(claim_ids)
    job = _job_planned(ids, job_id=job_id, task_id=task_id)
    if job.status == BulkClaimJob.Status.RUNNING:
        _dispatch_chunks(job)
        _work_until_done(job)
        BulkClaimJob.objects.filter(id=job.id, status=BulkClaimJob.Status.RUNNING).update(
            status=BulkClaimJob.Status.COMPLETED, finished_at=timezone.now()
        )
    job.refresh_from_db()
    summary = bulk_job_summary(job)
    logger.info("Bulk job %s: %s", job.id, summary)
    return summary


def bulk_job_summary(job: BulkClaimJob) -> dict:
    end = job.finished_at or timezone.now()
    return {
        "job_id": job.id,
        "status": job.status,
        "requested": job.requested,
        "total": job.total,
        "adjudicated": job.done,
        "approved": job.approved,
        "partially_approved": job.partially_approved,
        "rejected": job.rejected,
        "already_decided": job.already_decided,
        "not_found": job.not_found,
        "failed": job.failed,
        "duration_s": round((end - job.started_at).total_seconds(), 3) if job.started_at else None,
    }


# --- planning -----------------------------------------------------------------------------------


@transaction.atomic
def _job_planned(ids: list[int], *, job_id: int | None, task_id: str | None) -> BulkClaimJob:
    if job_id is not None:
        job = BulkClaimJob.objects.select_for_update().get(id=job_id)
    elif task_id:
        job, _ = BulkClaimJob.objects.select_for_update().get_or_create(task_id=task_id)
    else:  # called directly, not through a worker: nothing to resume
        job = BulkClaimJob.objects.create()
    if job.chunks_total or job.status != BulkClaimJob.Status.RUNNING:
        return job  # planned before: a redelivered task resumes its job
    families: dict[int, list[int]] = defaultdict(list)
    found = decided = 0
    for claim_id, member_id, principal_id, status in _claim_families(ids):
        found += 1
        if status == Claim.Status.PENDING:
            families[principal_id or member_id].append(claim_id)
        else:
            decided += 1
    chunks, current = [], []
    for family in sorted(families):
        current.extend(families[family])
        if len(current) >= settings.BULK_CHUNK_SIZE:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    BulkClaimChunk.objects.bulk_create(
        [BulkClaimChunk(job=job, index=n, claim_ids=chunk) for n, chunk in enumerate(chunks)], batch_size=500
    )
    job.requested = job.requested or len(ids)
    job.total, job.not_found, job.already_decided = found, len(ids) - found, decided
    job.chunks_total = len(chunks)
    job.started_at = timezone.now()
    if not chunks:
        job.status, job.finished_at = BulkClaimJob.Status.COMPLETED, job.started_at
    job.save()
    return job


def _claim_families(ids: list[int]):
    """(id, member, principal, status) of each existing claim among `ids`."""
    if connection.vendor == "postgresql":
        # One array parameter: 100,000 IN-list placeholders cost seconds in psycopg's client-side binding.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT c.id, c.member_id, m.principal_id, c.status FROM {Claim._meta.db_table} c "
                f"JOIN {Member._meta.db_table} m ON m.id = c.member_id WHERE c.id = ANY(%s::bigint[])",
                ["{" + ",".join(map(str, ids)) + "}"],
            )
            yield from cursor.fetchall()
        return
    for start in range(0, len(ids), ID_BATCH):
        yield from Claim.objects.filter(id__in=ids[start : start + ID_BATCH]).values_list(
            "id", "member_id", "member__principal_id", "status"
        )


def _dispatch_chunks(job: BulkClaimJob) -> None:
    """One subtask per chunk not yet done, so that every idle worker process can help."""
    from backend.celery import app
    from claims.tasks import adjudicate_chunk

    pending = list(BulkClaimChunk.objects.filter(job=job, done=False).order_by("index").values_list("id", flat=True))
    if len(pending) < 2:
        return  # this task decides a single chunk faster than a round trip through the broker
    with app.producer_or_acquire() as producer:
        for chunk_id in pending[1:]:  # the first one is ours
            adjudicate_chunk.apply_async((chunk_id,), producer=producer)


# --- deciding -----------------------------------------------------------------------------------


def _work_until_done(job: BulkClaimJob) -> None:
    while True:
        if chunk_adjudicate(job_id=job.id):
            continue
        if not BulkClaimChunk.objects.filter(job=job, done=False).exists():
            return
        time.sleep(WAIT_FOR_OTHERS)  # the rest are being decided by other workers right now


def chunk_adjudicate(*, chunk_id: int | None = None, job_id: int | None = None) -> bool:
    """Decide one chunk not yet done (that one, or the job's next free one); False if none was free."""
    chunk = None
    try:
        with transaction.atomic():
            pending = BulkClaimChunk.objects.select_for_update(skip_locked=True).filter(done=False)
            candidates = pending.filter(id=chunk_id) if chunk_id else pending.filter(job_id=job_id).order_by("index")
            chunk = candidates.first()
            if chunk is None:
                return False
            outcome = adjudicate_claims_in_transaction(chunk.claim_ids, job_id=chunk.job_id)
            BulkClaimChunk.objects.filter(id=chunk.id).update(done=True)
            _count(chunk.job_id, outcome)
            return True
    except Exception as exc:
        if chunk is None:
            raise
        # A chunk that cannot be decided must not stop the job or be retried forever: its claims stay
        # pending (a later job can take them) and the job says how many failed and why.
        logger.exception("Bulk job %s: chunk %s failed", chunk.job_id, chunk.index)
        with transaction.atomic():
            if BulkClaimChunk.objects.filter(id=chunk.id, done=False).update(done=True):
                job = BulkClaimJob.objects.select_for_update().get(id=chunk.job_id)
                job.failed += len(chunk.claim_ids)
                job.chunks_done += 1
                job.error = f"{job.error}chunk {chunk.index}: {type(exc).__name__}: {exc}\n"[-4000:]
                job.save(update_fields=["failed", "chunks_done", "error"])
        return True


def _count(job_id: int, outcome: Outcome) -> None:
    BulkClaimJob.objects.filter(id=job_id).update(
        done=F("done") + outcome.adjudicated,
        approved=F("approved") + outcome.approved,
        partially_approved=F("partially_approved") + outcome.partially_approved,
        rejected=F("rejected") + outcome.rejected,
        already_decided=F("already_decided") + outcome.already_decided,
        chunks_done=F("chunks_done") + 1,
    )
