"""Reads of members and their benefit balances."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from claims.models import BenefitLedger
from members.models import Member

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


def member_get(*, membership_number: str, dependant_code: str) -> Member | None:
    return (
        Member.objects.select_related("plan", "plan__scheme")
        .filter(membership_number=membership_number, dependant_code=dependant_code)
        .first()
    )


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
