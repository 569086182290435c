"""Reads of claims and bulk jobs, for the API and the admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from claims.adjudication.reasons import DESCRIPTIONS
from claims.models import BenefitLedger, BulkClaimJob, Claim, ClaimLine
from core.db import money_total
from members.models import Member, MembershipPeriod, Plan


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


def member_plan_in_year(*, member: Member, year: int) -> Plan:
    """The plan option whose limits apply to the member in benefit year `year` (issue 13).

    The rule: take the last day of `year` the member was covered, that is 31 December, or the end of the
    member's last active or suspended period that overlaps the year when cover ended earlier (the
    principal's periods stand in for a dependant who has none of its own). The plan is the one in force on
    that day, read as the adjudication reads it: the principal's period first (a family is on one plan
    option), then the member's own. When no such period overlaps the year (no history yet, or cover only
    began later), it is today's plan, `member.plan`.
    """
    first, last = date(year, 1, 1), date(year, 12, 31)
    family = {member.id, member.family_id}
    periods = list(
        MembershipPeriod.objects.filter(member_id__in=family, valid_from__lte=last)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first))
        .select_related("plan")
        .order_by("valid_from")
    )
    own = [p for p in periods if p.member_id == member.id]
    principals = [p for p in periods if p.member_id == member.family_id]
    covered = [p for p in (own or principals) if p.status != Member.Status.TERMINATED]
    if not covered:
        return member.plan
    day = min(last, max(p.valid_to or last for p in covered))
    for candidates in (principals, own):
        for period in candidates:
            if period.valid_from <= day and (period.valid_to is None or day <= period.valid_to):
                return period.plan
    return member.plan  # not reached: `day` lies in a covered period of the member or the principal


def member_balances(*, member: Member, year: int, plan: Plan | None = None) -> list[BenefitBalance]:
    """Per benefit category of the plan option of that year: limits, what the ledger says was used, what remains.

    The plan is member_plan_in_year's (pass `plan` when it has been looked up already, as the API does);
    the family is the principal and every dependant (ledger rows carry the principal as `family`); the
    benefit year is the calendar year of the service date, as the adjudication books it.
    """
    plan = plan or member_plan_in_year(member=member, year=year)
    ledger = BenefitLedger.objects.filter(benefit_year=year)
    used_by_member = _sums(ledger.filter(member_id=member.id))
    used_by_family = _sums(ledger.filter(family_id=member.family_id))
    balances = []
    for benefit in plan.benefits.order_by("code"):
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
    sums = ledger.values_list("benefit_code").annotate(total=Sum("amount")).order_by()
    return {code: money_total(total) for code, total in sums}  # to the cent: SQLite sums floats


def _remaining(limit: Decimal | None, used: Decimal) -> Decimal | None:
    return None if limit is None else max(limit - used, ZERO)
