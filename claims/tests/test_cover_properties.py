"""Properties of the adjudication over generated cover history (issue 13), on the pure rules (hypothesis).

Families change plan option at the benefit-year boundary, members and principals are suspended for a
while and reinstated, principals are terminated from a date; claims fall on either side of all of it
(December to March). What must hold: every line adds up (copay + benefit = eligible, nothing negative),
no limit of the plan in force that year is exceeded, a claim on a day the member or the principal was not
active is rejected and only then, a paid line's co-payment is the percentage of the plan in force on the
service date, and the outcome depends neither on the order of the claims nor on how families are chunked.
Derandomized with no example database and a bounded number of examples: the same cases each run, fast.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.adjudication.reasons import Reason
from claims.adjudication.rules import ClaimIn, LineIn, MemberInfo, Period, Reference
from claims.tests.test_rule_properties import (
    ZERO,
    benefits,
    by_family,
    check_lines_and_claims,
    decide_all,
    floor,
    lines,
    price_list,
)

pytestmark = pytest.mark.pure  # no database: run once (scripts/test.sh)

YEAR = 2026
BOUNDARY = date(YEAR, 1, 1)
FIRST_SERVICE = date(YEAR - 1, 12, 1)
COVER_START = date(2020, 1, 1)
PLANS = (1, 2)
HISTORY = settings(
    derandomize=True, database=None, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def spells(draw) -> list[tuple[date, date]]:
    """Up to two suspensions between December and March, 1 to 30 days each."""
    found = []
    for _ in range(draw(st.integers(0, 2))):
        start = FIRST_SERVICE + timedelta(days=draw(st.integers(0, 110)))
        found.append((start, start + timedelta(days=draw(st.integers(0, 29)))))
    return found


def status_on(day: date, suspensions, terminated: date | None) -> str:
    if terminated is not None and day >= terminated:
        return "terminated"
    return "suspended" if any(start <= day <= end for start, end in suspensions) else "active"


def periods_for(plan_before: int, plan_after: int, suspensions, terminated: date | None) -> tuple[Period, ...]:
    """Cut at every change, one period per piece (neighbours alike are left apart: the rules must not care)."""
    cuts = {COVER_START, BOUNDARY} | {s for s, _ in suspensions} | {e + timedelta(days=1) for _, e in suspensions}
    if terminated is not None:
        cuts.add(terminated)
    cuts = sorted(cuts)
    return tuple(
        Period(
            day,
            following - timedelta(days=1) if following else None,
            status_on(day, suspensions, terminated),
            plan_before if day < BOUNDARY else plan_after,
        )
        for day, following in zip(cuts, [*cuts[1:], None], strict=True)
    )


@st.composite
def histories(draw):
    """Up to three families, each with its plan option before and after 1 January, suspensions, maybe a
    termination of the principal, and up to five claims from December to March."""
    members, claims, facts = {}, [], {}
    next_id = iter(range(1, 10_000))
    for _ in range(draw(st.integers(1, 3))):
        principal = next(next_id)
        family = [principal] + [next(next_id) for _ in range(draw(st.integers(0, 2)))]
        plan_before, plan_after = draw(st.sampled_from(PLANS)), draw(st.sampled_from(PLANS))
        terminated = draw(st.one_of(st.none(), st.just(FIRST_SERVICE + timedelta(days=draw(st.integers(20, 110))))))
        for member in family:
            own = draw(spells())
            ends = terminated if member == principal else None
            members[member] = MemberInfo(
                member,
                principal,
                plan_after,
                "active",
                COVER_START,
                COVER_START,
                None,
                periods=periods_for(plan_before, plan_after, own, ends),
            )
            facts[member] = (own, ends)
        facts[("plans", principal)] = (plan_before, plan_after)
        for _ in range(draw(st.integers(0, 5))):
            claim_id = next(next_id)
            service = FIRST_SERVICE + timedelta(days=draw(st.integers(0, 110)))
            received = datetime.combine(service + timedelta(days=draw(st.integers(0, 5))), time(8), UTC)
            claim_lines = tuple(
                LineIn(claim_id * 10 + n, tariff, "J06.9", quantity, claimed)
                for n, (tariff, quantity, claimed) in enumerate(draw(st.lists(lines, min_size=1, max_size=3)))
            )
            claims.append(
                ClaimIn(
                    claim_id,
                    f"C{claim_id:05d}",
                    draw(st.sampled_from(family)),
                    "1234567",
                    service,
                    received,
                    claim_lines,
                )
            )
    return members, claims, facts


def reference(members, plan_benefits, tariffs) -> Reference:
    return Reference(
        providers={"1234567": "active"},
        members=members,
        benefits=plan_benefits,
        tariffs=tariffs,
        waiting_periods={},
        preauths={},
    )


def plan_in_force(facts, family_id: int, day: date) -> int:
    before, after = facts[("plans", family_id)]
    return before if day < BOUNDARY else after


def active_on(facts, member: MemberInfo, day: date) -> bool:
    return all(status_on(day, *facts[m]) == "active" for m in {member.id, member.family_id})


@HISTORY
@given(data=histories(), nonsense=st.booleans(), draw=st.data())
def test_history_decides_by_the_cover_in_force_and_keeps_within_that_plans_limits(data, nonsense, draw):
    members, claims, facts = data
    plan_benefits = {plan: draw.draw(benefits(nonsense)) for plan in PLANS}
    ref = reference(members, plan_benefits, draw.draw(price_list(nonsense)))
    decisions = decide_all(claims, ref)
    check_lines_and_claims(decisions.values())

    used = defaultdict(lambda: ZERO)
    for claim in claims:
        decision, member = decisions[claim.id], members[claim.member_id]
        day = claim.service_date
        # Not active that day (own period or the principal's): rejected as such, and only then.
        assert (decision.reason_code == Reason.MEMBER_NOT_ACTIVE) == (not active_on(facts, member, day))
        plan = plan_benefits[plan_in_force(facts, member.family_id, day)]
        for line in decision.lines:
            if line.benefit:
                used[("member", member.id, line.benefit_code, day.year)] += line.benefit
                used[("family", member.family_id, line.benefit_code, day.year)] += line.benefit
            if line.reasons and line.reasons[-1] == Reason.PAID and line.copay:  # the co-payment of that day's plan
                percent = min(max(plan[line.benefit_code].copay_percent, ZERO), Decimal(100))
                expected = (line.eligible * percent / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                assert line.copay == expected
    for (kind, who, code, year), total in used.items():
        family_id = who if kind == "family" else members[who].family_id
        benefit = plan_benefits[plan_in_force(facts, family_id, date(year, 6, 1))][code]
        limit = floor(benefit.limit_family if kind == "family" else benefit.limit_member)
        assert limit is None or total <= limit


@HISTORY
@given(data=histories(), nonsense=st.booleans(), draw=st.data())
def test_history_decides_the_same_in_any_order_and_any_chunking(data, nonsense, draw):
    members, claims, _facts = data
    ref = reference(members, {plan: draw.draw(benefits(nonsense)) for plan in PLANS}, draw.draw(price_list(nonsense)))
    expected = decide_all(claims, ref)
    shuffled = draw.draw(st.permutations(claims))
    assert decide_all(shuffled, ref) == expected
    grouped = by_family(shuffled, members)
    chunk_size = draw.draw(st.integers(1, 3))
    order = draw.draw(st.permutations(sorted(grouped)))
    chunked = {}
    for start in range(0, len(order), chunk_size):
        chunked |= decide_all([claim for family in order[start : start + chunk_size] for claim in grouped[family]], ref)
    assert chunked == expected
