"""Reads of claims and bulk jobs, for the API and the admin."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from claims.adjudication.reasons import DESCRIPTIONS
from claims.models import BulkClaimJob, Claim, ClaimLine


def claim_get(*, claim_number: str) -> Claim | None:
    """One claim with its member and its lines in line order, or None."""
    lines = Prefetch("lines", queryset=ClaimLine.objects.order_by("line_number"))
    return Claim.objects.select_related("member").prefetch_related(lines).filter(claim_number=claim_number).first()


def claims_list(
    *, status: str | None = None, membership_number: str | None = None, dependant_code: str | None = None
) -> QuerySet[Claim]:
    """Claims, newest receipt first; a membership number without a dependant code means the whole family."""
    claims = Claim.objects.select_related("member")
    if status:
        claims = claims.filter(status=status)
    if membership_number:
        claims = claims.filter(member__membership_number=membership_number)
    if dependant_code:
        claims = claims.filter(member__dependant_code=dependant_code)
    return claims.order_by("-received_at", "-id")


def reasons_explained(codes: str) -> list[dict[str, str]]:
    """'COPAY_APPLIED,PAID' -> [{"code": ..., "description": ...}, ...] in the stored order."""
    return [{"code": code, "description": DESCRIPTIONS.get(code, "")} for code in codes.split(",") if code]


def bulk_job_get(*, job_id: int) -> BulkClaimJob | None:
    return BulkClaimJob.objects.filter(id=job_id).first()


def bulk_job_duration(job: BulkClaimJob) -> timedelta | None:
    """Start to finish; while it runs, start to now; None before it started."""
    if job.started_at is None:
        return None
    return (job.finished_at or timezone.now()) - job.started_at


def bulk_job_percent_done(job: BulkClaimJob) -> float:
    """Share of the found claims that are decided, 0..100 (100 for a finished job with nothing to do)."""
    if not job.total:
        return 100.0 if job.status != BulkClaimJob.Status.RUNNING else 0.0
    return round(100 * job.done / job.total, 1)
