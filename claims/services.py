"""Bulk adjudication jobs: validate, plan whole-family chunks, decide them in parallel, end honestly.

The job row holds the selection (the claim IDs); messages carry the job id or a chunk id only.
`bulk_job_run` is what `process_bulk_claims` runs. It plans the job's chunks (whole families, fixed
order), publishes one subtask per chunk so idle workers help, takes chunks itself for at most
`BULK_COORDINATOR_SECONDS`, and returns: no task runs for long, so time limits and Redis's
visibility timeout stay in minutes. Each chunk is taken with `SELECT ... FOR UPDATE SKIP LOCKED` and
marked done in the same transaction as its decisions: a worker killed mid-chunk rolls back and the
chunk is taken again. Whoever ends the last chunk ends the job: `completed`, or
`completed_with_errors` when a chunk failed for good (its claims stay pending and the job says which).
`bulk_jobs_sweep` (beat, every minute) publishes again the unfinished work of a job without progress
for `BULK_JOB_STALL_SECONDS` (a lost message, a dead coordinator, a broker that came back empty) and
ends a job without progress for `BULK_JOB_GIVE_UP_SECONDS` as `failed`, with the reason.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from claims.adjudication.engine import Outcome, adjudicate_claims_in_transaction
from claims.models import BulkClaimChunk, BulkClaimJob, Claim
from core.enqueue import task_named  # services never import tasks: tasks import services
from core.transient import TRANSIENT_ERRORS

logger = logging.getLogger(__name__)

MAX_BULK_IDS = 1_000_000
MAX_ID = 2**63 - 1  # the primary keys are 64-bit on SQLite and PostgreSQL
ID_BATCH = 10_000  # SQLite allows 32,766 parameters per statement
WAIT_FOR_OTHERS = 0.1  # seconds between looks at chunks other workers are deciding
RUNNING = BulkClaimJob.Status.RUNNING


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
    too_big = [value for value in claim_ids if value > MAX_ID]
    if too_big:
        raise BulkInputError(f"claim IDs must be at most {MAX_ID}; not: {str(too_big[0])[:40]}")
    return sorted(set(claim_ids))


def bulk_job_create(*, claim_ids: list[int] | None) -> BulkClaimJob:
    """A job row holding its selection (None: every claim pending now); nothing is published here."""
    if claim_ids is None:
        ids = list(Claim.objects.filter(status=Claim.Status.PENDING).order_by("id").values_list("id", flat=True))
        if not ids:
            raise BulkInputError("there are no pending claims")
    else:
        ids = claim_ids_validate(claim_ids)
    return BulkClaimJob.objects.create(requested=len(ids), claim_ids=ids)


def bulk_job_start(*, claim_ids: list[int] | None) -> BulkClaimJob:
    """Create a job for `claim_ids` (None: every pending claim) and enqueue it once this transaction commits."""
    process_bulk_claims = task_named("core.tasks.process_bulk_claims")  # claims/tasks.py

    job = bulk_job_create(claim_ids=claim_ids)
    process_bulk_claims.delay_on_commit(job_id=job.id)
    return job


def bulk_job_run(
    *, job_id: int | None = None, claim_ids=None, task_id: str | None = None, budget: float | None = None
) -> dict:
    """Plan the job, hand out its chunks, decide chunks here for up to `budget` seconds (None: to the end).

    Given claim IDs instead of a job (a direct call, or a message published by name), the job is
    created first; a redelivered message with the same task id finds the job it created before.
    """
    if job_id is None:
        ids = claim_ids_validate(claim_ids)
        job = _job_for_task(ids, task_id)
    else:
        job = BulkClaimJob.objects.get(id=job_id)
    job = _job_planned(job.id)
    if job.status == RUNNING:
        _dispatch_chunks(job)
        deadline = None if budget is None else time.monotonic() + budget
        _work_until_done(job, deadline)
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
        "pended": job.pended,
        "already_decided": job.already_decided,
        "not_found": job.not_found,
        "failed": job.failed,
        "chunks_total": job.chunks_total,
        "chunks_done": job.chunks_done,
        "duration_s": round((end - job.started_at).total_seconds(), 3) if job.started_at else None,
    }


def bulk_job_failed_claim_ids(job: BulkClaimJob) -> list[int]:
    """The claims of chunks that failed for good and are still pending (a later job can take them)."""
    chunks = job.chunks.filter(failed=True).values_list("claim_ids", flat=True)
    ids = [claim_id for chunk in chunks for claim_id in chunk]
    pending = set()
    for start in range(0, len(ids), ID_BATCH):
        batch = ids[start : start + ID_BATCH]
        pending |= set(Claim.objects.filter(id__in_ids=batch, status=Claim.Status.PENDING).values_list("id", flat=True))
    return sorted(pending)


# --- planning -----------------------------------------------------------------------------------


def _job_for_task(ids: list[int], task_id: str | None) -> BulkClaimJob:
    if not task_id:  # called directly, not through a worker: nothing to resume
        return BulkClaimJob.objects.create(requested=len(ids), claim_ids=ids)
    job, _ = BulkClaimJob.objects.get_or_create(task_id=task_id, defaults={"requested": len(ids), "claim_ids": ids})
    return job


@transaction.atomic
def _job_planned(job_id: int) -> BulkClaimJob:
    """Cut the job's selection into chunks of whole families, once; a second call finds them planned."""
    job = BulkClaimJob.objects.select_for_update().get(id=job_id)
    if job.chunks_total or job.status != RUNNING or job.started_at:
        return job  # planned before: a redelivered or re-published coordinator resumes its job
    ids = job.claim_ids
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
    job.started_at = job.progress_at = timezone.now()
    if not chunks:
        job.status, job.finished_at = BulkClaimJob.Status.COMPLETED, job.started_at
    job.save()
    return job


def _claim_families(ids: list[int]):
    """(id, member, principal, status) of each existing claim among `ids`: one array parameter on
    PostgreSQL (`in_ids`, core/lookups.py), batches below SQLite's bound-variable limit elsewhere."""
    batch = max(len(ids), 1) if connection.vendor == "postgresql" else ID_BATCH
    for start in range(0, len(ids), batch):
        yield from Claim.objects.filter(id__in_ids=ids[start : start + batch]).values_list(
            "id", "member_id", "member__principal_id", "status"
        )


def _dispatch_chunks(job: BulkClaimJob, *, skip_first: bool = True, chunk_ids: list[int] | None = None) -> int:
    """One subtask per chunk not yet done, so that every idle worker process can help; how many were published.

    A broker that cannot take them now is logged, not raised: the caller decides chunks itself, and the
    sweep publishes again whatever is left when the job stops moving.
    """
    from backend.celery import app

    adjudicate_chunk = task_named("claims.tasks.adjudicate_chunk")

    if chunk_ids is None:
        chunk_ids = list(
            BulkClaimChunk.objects.filter(job=job, done=False).order_by("index").values_list("id", flat=True)
        )
        if skip_first:
            chunk_ids = chunk_ids[1:]  # the first one is ours: deciding it here saves a round trip
    if not chunk_ids:
        return 0
    published = 0
    try:
        with app.producer_or_acquire() as producer:
            for chunk_id in chunk_ids:
                adjudicate_chunk.apply_async((chunk_id,), producer=producer)
                published += 1
    except Exception as exc:  # the broker is down: the work stays on the job's rows
        logger.warning(
            "Bulk job %s: %s of %s chunks published (%s); the sweep will publish the rest",
            job.id,
            published,
            len(chunk_ids),
            type(exc).__name__,
        )
    return published


# --- deciding -----------------------------------------------------------------------------------


def _work_until_done(job: BulkClaimJob, deadline: float | None) -> None:
    while deadline is None or time.monotonic() < deadline:
        if chunk_adjudicate(job_id=job.id):
            continue
        if not BulkClaimChunk.objects.filter(job=job, done=False).exists():
            return
        time.sleep(WAIT_FOR_OTHERS)  # the rest are being decided by other workers right now


def chunk_adjudicate(*, chunk_id: int | None = None, job_id: int | None = None) -> bool:
    """Decide one chunk not yet done (that one, or the job's next free one); False if none was free.

    A transient error (the database or the cache away, a deadlock) rolls the chunk back and is raised
    for the task to retry; any other error fails the chunk for good, with its reason, and its claims
    stay pending. Either way nothing is half-written.
    """
    chunk = None
    try:
        with transaction.atomic():
            # of=("self",): lock the chunk row only. Without it PostgreSQL also locks the joined job row, and
            # while one chunk held it every other chunk task found its own chunk "taken" and was acked unrun.
            pending = BulkClaimChunk.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                done=False, job__status=RUNNING
            )
            candidates = pending.filter(id=chunk_id) if chunk_id else pending.filter(job_id=job_id).order_by("index")
            chunk = candidates.first()
            if chunk is None:
                return False
            outcome = adjudicate_claims_in_transaction(chunk.claim_ids, job_id=chunk.job_id)
            BulkClaimChunk.objects.filter(id=chunk.id).update(done=True)
            _count(chunk.job_id, outcome)
            _job_finish_if_done(chunk.job_id)
            return True
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        if chunk is None:
            raise
        logger.exception("Bulk job %s: chunk %s failed", chunk.job_id, chunk.index)
        chunk_fail(chunk_id=chunk.id, reason=f"{type(exc).__name__}: {exc}")
        return True


def chunk_fail(*, chunk_id: int, reason: str) -> None:
    """End a chunk that cannot be decided: its claims stay pending, the job counts them and says why."""
    with transaction.atomic():
        chunk = BulkClaimChunk.objects.select_for_update().filter(id=chunk_id, done=False).first()
        if chunk is None:
            return
        ids = [claim_id for claim_id in chunk.claim_ids if isinstance(claim_id, int)]  # the row may be what broke
        left = Claim.objects.filter(id__in_ids=ids, status=Claim.Status.PENDING).count()
        BulkClaimChunk.objects.filter(id=chunk.id).update(done=True, failed=True, error=reason[:4000])
        job = BulkClaimJob.objects.select_for_update().get(id=chunk.job_id)
        job.failed += left
        job.chunks_done += 1
        job.progress_at = timezone.now()
        job.error = f"{job.error}chunk {chunk.index} ({left} claims left pending): {reason}\n"[-4000:]
        job.save(update_fields=["failed", "chunks_done", "progress_at", "error"])
        _job_finish_if_done(job.id)


def _count(job_id: int, outcome: Outcome) -> None:
    # This UPDATE locks the job row until the chunk commits, so of two chunks ending at once the later one
    # sees the earlier one's "done" in _job_finish_if_done and ends the job.
    BulkClaimJob.objects.filter(id=job_id).update(
        done=F("done") + outcome.adjudicated,
        approved=F("approved") + outcome.approved,
        partially_approved=F("partially_approved") + outcome.partially_approved,
        rejected=F("rejected") + outcome.rejected,
        pended=F("pended") + outcome.pended,
        already_decided=F("already_decided") + outcome.already_decided,
        chunks_done=F("chunks_done") + 1,
        progress_at=timezone.now(),
    )


def _job_finish_if_done(job_id: int) -> bool:
    """Inside the transaction that ended a chunk (the job row is locked): end the job if no chunk is left."""
    if BulkClaimChunk.objects.filter(job_id=job_id, done=False).exists():
        return False
    any_failed = BulkClaimChunk.objects.filter(job_id=job_id, failed=True).exists()
    status = BulkClaimJob.Status.COMPLETED_WITH_ERRORS if any_failed else BulkClaimJob.Status.COMPLETED
    ended = BulkClaimJob.objects.filter(id=job_id, status=RUNNING).update(status=status, finished_at=timezone.now())
    return bool(ended)


# --- the sweep ----------------------------------------------------------------------------------


def bulk_jobs_sweep() -> dict:
    """Resume running jobs that stopped moving; end those that cannot finish. Safe to run any time, twice.

    Resuming publishes again what is left: the coordinator of a job never planned, else each chunk not
    done that no transaction holds (PostgreSQL: SKIP LOCKED; on SQLite a duplicate waits for the write
    lock and then finds the chunk done). A job whose last activity (progress, or the last resume) is older
    than BULK_JOB_STALL_SECONDS is resumed; one without progress for BULK_JOB_GIVE_UP_SECONDS fails.
    """
    now = timezone.now()
    stall = now - timedelta(seconds=settings.BULK_JOB_STALL_SECONDS)
    give_up = now - timedelta(seconds=settings.BULK_JOB_GIVE_UP_SECONDS)
    report = {"resumed": 0, "chunks_published": 0, "finished": 0, "failed": 0}
    quiet = Q(progress_at__lt=stall) | Q(progress_at__isnull=True, created_at__lt=stall)
    candidates = BulkClaimJob.objects.filter(quiet, status=RUNNING).filter(
        Q(resumed_at__isnull=True) | Q(resumed_at__lt=stall)
    )
    for job_id in candidates.order_by("id").values_list("id", flat=True):
        outcome = _sweep_job(job_id, give_up=give_up)
        if outcome:
            report[outcome[0]] += 1
            report["chunks_published"] += outcome[1]
    if any(report.values()):
        logger.warning("Bulk job sweep: %s", report)
    return report


def _sweep_job(job_id: int, *, give_up) -> tuple[str, int] | None:
    process_bulk_claims = task_named("core.tasks.process_bulk_claims")  # claims/tasks.py

    with transaction.atomic():
        job = BulkClaimJob.objects.select_for_update().filter(id=job_id, status=RUNNING).first()
        if job is None:
            return None
        if job.started_at and _job_finish_if_done(job.id):
            return "finished", 0
        last_progress = job.progress_at or job.created_at
        if last_progress < give_up:
            left = Claim.objects.filter(id__in_ids=job.claim_ids, status=Claim.Status.PENDING).count()
            reason = (
                f"no progress for {settings.BULK_JOB_GIVE_UP_SECONDS} s after {job.resumes} resumes; "
                f"{left} claims left pending"
            )
            job.status, job.finished_at = BulkClaimJob.Status.FAILED, timezone.now()
            job.error = f"{job.error}{reason}\n"[-4000:]
            job.save(update_fields=["status", "finished_at", "error"])
            logger.error("Bulk job %s failed: %s", job.id, reason)
            return "failed", 0
        if not job.started_at:
            chunk_ids = None
        else:
            free = BulkClaimChunk.objects.filter(job=job, done=False).order_by("index")
            if connection.vendor == "postgresql":
                free = free.select_for_update(skip_locked=True)  # held = being decided right now
            chunk_ids = list(free.values_list("id", flat=True))
        job.resumes += 1
        job.resumed_at = timezone.now()
        job.save(update_fields=["resumes", "resumed_at"])
    # Published after the commit, outside the locks; a broker still down is logged and tried next minute.
    if chunk_ids is None:
        try:
            process_bulk_claims.apply_async(kwargs={"job_id": job.id})
        except Exception as exc:
            logger.warning("Bulk job %s: coordinator not published (%s)", job.id, type(exc).__name__)
            return "resumed", 0
        return "resumed", 1
    return "resumed", _dispatch_chunks(job, chunk_ids=chunk_ids)
