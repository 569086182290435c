"""The claims app's health findings, registered with core.health from ClaimsConfig.ready().

Ids and counts only: a finding ends up in an alert e-mail and in the stored runs (no member data).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.health import HealthFinding


def check_pending_claims() -> dict:
    """No claim has waited, undecided, for longer than the claim window (CLAIM_WINDOW_DAYS since receipt):
    a claim that old was never picked up by a bulk job, or its job gave up on it. No claim has waited in the
    assessor's queue (pended) for longer than PENDED_REVIEW_DAYS."""
    from claims.models import Claim

    days, review_days = settings.CLAIM_WINDOW_DAYS, settings.PENDED_REVIEW_DAYS
    now = timezone.now()
    stale = Claim.objects.filter(status=Claim.Status.PENDING, received_at__lt=now - timedelta(days=days))
    found = stale.aggregate(count=Count("id"), oldest=Min("received_at"))
    waiting = Claim.objects.filter(status=Claim.Status.PENDED, decided_at__lt=now - timedelta(days=review_days))
    queue = waiting.aggregate(count=Count("id"), oldest=Min("decided_at"))
    problems = []
    if found["count"]:
        problems.append(
            f"{found['count']} claim(s) pending for longer than the {days}-day claim window "
            f"(the oldest received {found['oldest']:%Y-%m-%d})"
        )
    if queue["count"]:
        problems.append(
            f"{queue['count']} claim(s) waiting for an assessor for longer than {review_days} days "
            f"(the oldest pended {queue['oldest']:%Y-%m-%d})"
        )
    if problems:
        raise HealthFinding("; ".join(problems))
    pending = Claim.objects.filter(status=Claim.Status.PENDING).count()
    pended = Claim.objects.filter(status=Claim.Status.PENDED).count()
    return {
        "summary": f"{pending} pending, none older than {days} days; {pended} pended, none older than {review_days}",
        "pending": pending,
        "pended": pended,
    }


def check_bulk_jobs() -> dict:
    """No running bulk job has gone without progress for two stall periods (2 x BULK_JOB_STALL_SECONDS):
    by then the sweep has published its unfinished work again at least once, and it still did not move."""
    from claims.models import BulkClaimJob

    quiet_for = 2 * settings.BULK_JOB_STALL_SECONDS
    now = timezone.now()
    running = BulkClaimJob.objects.filter(status=BulkClaimJob.Status.RUNNING).annotate(
        last_move=Coalesce("progress_at", "created_at")
    )
    stuck = [
        f"job {job_id}: {done} of {total} claims done, no progress for {(now - moved).total_seconds():.0f} s "
        f"({resumes} resume(s))"
        for job_id, done, total, moved, resumes in running.filter(last_move__lt=now - timedelta(seconds=quiet_for))
        .order_by("id")
        .values_list("id", "done", "total", "last_move", "resumes")[:20]
    ]
    if stuck:
        raise HealthFinding(f"bulk job(s) without progress for over {quiet_for} s: " + "; ".join(stuck))
    count = running.count()
    return {"summary": f"{count} running, all moving", "running": count}
