"""Reads of claims and bulk jobs, for the API and the admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from claims.adjudication.reasons import DESCRIPTIONS
from claims.models import BenefitLedger, BulkClaimJob, Claim, ClaimLine
from members.models import Member


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


# --- benefit balances: a member's plan limits against the ledger's sums (the members API shows them) ---

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class BenefitBalance:
    """One benefit category for one member and benefit year; a None limit (and remainder) is unlimited."""

    benefit_code: str
    description: str
    member_limit: Decimal | None
    used_by_member: Decimal
    remaining_for_member: Decimal | None
    family_limit: Decimal | None
    used_by_family: Decimal
    remaining_for_family: Decimal | None


def member_balances(*, member: Member, year: int) -> list[BenefitBalance]:
    """Per benefit category of the member's plan: limits, what the ledger says was used, what remains.

    The family is the principal and every dependant (ledger rows carry the principal as `family`); the
    benefit year is the calendar year of the service date, as the adjudication books it.
    """
    ledger = BenefitLedger.objects.filter(benefit_year=year)
    used_by_member = _sums(ledger.filter(member_id=member.id))
    used_by_family = _sums(ledger.filter(family_id=member.family_id))
    balances = []
    for benefit in member.plan.benefits.order_by("code"):
        mine = used_by_member.get(benefit.code, ZERO)
        family = used_by_family.get(benefit.code, ZERO)
        balances.append(
            BenefitBalance(
                benefit_code=benefit.code,
                description=benefit.get_code_display(),
                member_limit=benefit.annual_limit_member,
                used_by_member=mine,
                remaining_for_member=_remaining(benefit.annual_limit_member, mine),
                family_limit=benefit.annual_limit_family,
                used_by_family=family,
                remaining_for_family=_remaining(benefit.annual_limit_family, family),
            )
        )
    return balances


def _sums(ledger) -> dict[str, Decimal]:
    return dict(ledger.values_list("benefit_code").annotate(total=Sum("amount")).order_by())


def _remaining(limit: Decimal | None, used: Decimal) -> Decimal | None:
    return None if limit is None else max(limit - used, ZERO)
