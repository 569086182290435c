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
    a claim that old was never picked up by a bulk job, or its job gave up on it."""
    from claims.models import Claim

    days = settings.CLAIM_WINDOW_DAYS
    stale = Claim.objects.filter(status=Claim.Status.PENDING, received_at__lt=timezone.now() - timedelta(days=days))
    found = stale.aggregate(count=Count("id"), oldest=Min("received_at"))
    if found["count"]:
        raise HealthFinding(
            f"{found['count']} claim(s) pending for longer than the {days}-day claim window "
            f"(the oldest received {found['oldest']:%Y-%m-%d})"
        )
    pending = Claim.objects.filter(status=Claim.Status.PENDING).count()
    return {"summary": f"{pending} pending, none older than {days} days", "pending": pending}


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
