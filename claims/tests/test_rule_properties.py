"""Properties of the adjudication, over generated families, plans, price lists and claims (hypothesis).

Most examples run the pure rules (rules.adjudicate_family over plain dataclasses, no database); one property
runs the engine on rows, in different orders and chunk splits, and checks the ledger against the limits.
Generated data includes nonsense: quantities and amounts of zero or below (rows that bypassed validation),
and, for the pure rules, prices, co-payments, limits and caps outside what the constraints allow.

What holds on every line: 0 <= copay <= eligible, benefit >= 0 and copay + benefit == eligible (the copay
column is the member's portion: the co-payment plus what a cap or a limit cut); a line that pays nothing is
rejected. Derandomized, with no example database: the same examples on every run.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.adjudication import engine
from claims.adjudication.reasons import PENDED as PENDED_REASONS
from claims.adjudication.reasons import Reason
from claims.adjudication.rules import (
    APPROVED,
    CLAIM_APPROVED,
    CLAIM_PENDED,
    CLAIM_REJECTED,
    NOT_DECIDED,
    PENDED,
    REJECTED,
    Benefit,
    ClaimIn,
    LineIn,
    MemberInfo,
    Reference,
    Tariff,
    Usage,
    adjudicate_claim,
    adjudicate_family,
)
from claims.models import BenefitLedger, Claim, ClaimLine
from claims.tests.factories import ClaimFactory, DependantFactory, MemberFactory, PlanFactory, TariffCodeFactory
from claims.tests.test_invalid_lines import checks_off

ZERO = Decimal("0.00")
PLAN = 1
YEAR = 2026
CODES = ("GP", "SPECIALIST")
TARIFFS = {"T1": "GP", "T2": "GP", "T3": "SPECIALIST", "T4": "SPECIALIST"}
PRACTICES = ("1234567", "1234568")
PURE = settings(
    derandomize=True, database=None, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def money(low: int, high: int):
    """Amounts in whole cents from low to high rand."""
    return st.integers(low * 100, high * 100).map(lambda cents: Decimal(cents).scaleb(-2))


def maybe(strategy):
    return st.one_of(st.none(), strategy)


# --- strategies for plain data ------------------------------------------------------------------


@st.composite
def benefits(draw, nonsense: bool):
    low = -300 if nonsense else 0
    percent = st.integers(-5000 if nonsense else 0, 20000 if nonsense else 10000).map(lambda n: Decimal(n).scaleb(-2))
    return {
        code: Benefit(
            code,
            draw(maybe(money(low, 2000))),
            draw(maybe(money(low, 3000))),
            draw(percent),
            draw(maybe(money(low, 1500))),
            False,
            # Issue 13: a line claiming more waits for an assessor (the claim is pended); mostly none.
            draw(st.one_of(st.none(), st.none(), money(0, 1500))),
        )
        for code in CODES
        if draw(st.integers(0, 5))  # now and then a benefit is not on the plan
    }


@st.composite
def price_list(draw, nonsense: bool):
    price = money(-50 if nonsense else 1, 1000)
    tariffs = {}
    for code, benefit_code in TARIFFS.items():
        end = draw(maybe(st.sampled_from([date(YEAR, 2, 1), date(YEAR, 12, 31)])))
        reviewed = draw(st.sampled_from([False, False, False, True]))  # a code marked for an assessor's review
        tariffs[code] = [Tariff(date(2020, 1, 1), end, draw(price), benefit_code, reviewed)]
    return tariffs


lines = st.builds(
    lambda tariff, quantity, claimed: (tariff, quantity, claimed),
    st.sampled_from([*TARIFFS, "9999"]),
    st.one_of(st.integers(1, 4), st.integers(-2, 0)),  # zero and below: rows that bypassed validation
    st.one_of(money(1, 1500), money(-200, 0)),
)


@st.composite
def families(draw):
    """Up to three families of a principal and up to two dependants, each with up to five claims."""
    members, claims = {}, []
    next_id = iter(range(1, 10_000))
    for _ in range(draw(st.integers(1, 3))):
        principal = next(next_id)
        family = [principal] + [next(next_id) for _ in range(draw(st.integers(0, 2)))]
        for member in family:
            members[member] = MemberInfo(member, principal, PLAN, "active", date(2020, 1, 1), date(2020, 1, 1), None)
        for _ in range(draw(st.integers(0, 5))):
            claim_id = next(next_id)
            service = date(YEAR, 1, 1) + timedelta(days=draw(st.integers(0, 80)))
            received = datetime.combine(service + timedelta(days=draw(st.integers(0, 5))), datetime.min.time(), UTC)
            claim_lines = tuple(
                LineIn(claim_id * 10 + n, tariff, "J06.9", quantity, claimed)
                for n, (tariff, quantity, claimed) in enumerate(draw(st.lists(lines, min_size=1, max_size=3)))
            )
            # Dates and receipts often tie: the claim number decides the order then.
            claims.append(
                ClaimIn(
                    claim_id,
                    f"C{claim_id:05d}",
                    draw(st.sampled_from(family)),
                    draw(st.sampled_from(PRACTICES)),  # two providers: the same service by both is reviewed
                    service,
                    received,
                    claim_lines,
                )
            )
    return members, claims


def reference_for(members, plan_benefits, tariffs) -> Reference:
    return Reference(
        providers=dict.fromkeys(PRACTICES, "active"),
        members=members,
        benefits={PLAN: plan_benefits},
        tariffs=tariffs,
        waiting_periods={},
        preauths={},
    )


def by_family(claims, members):
    grouped = defaultdict(list)
    for claim in claims:
        grouped[members[claim.member_id].family_id].append(claim)
    return grouped


def decide_all(claims, ref) -> dict[int, object]:
    """As the engine does: family by family, one Usage for the whole set."""
    usage = Usage()
    grouped = by_family(claims, ref.members)
    return {d.claim_id: d for family in sorted(grouped) for d in adjudicate_family(grouped[family], ref, usage)}


def floor(limit):
    return None if limit is None else max(limit, ZERO)


# --- the properties -------------------------------------------------------------------------------


def check_lines_and_claims(decisions) -> None:
    for decision in decisions:
        if decision.status == CLAIM_PENDED:  # waiting for an assessor: nothing decided, nothing paid
            assert decision.totals == (ZERO, ZERO, ZERO)
            assert {line.outcome for line in decision.lines} <= {PENDED, NOT_DECIDED}
            first = next(line for line in decision.lines if line.outcome == PENDED)
            assert decision.reason_code == first.reasons[0] and first.reasons[0] in PENDED_REASONS
            continue
        for line in decision.lines:
            assert line.benefit >= 0 and line.copay >= 0 and line.eligible >= 0
            assert line.copay <= line.eligible
            assert line.copay + line.benefit == line.eligible
            if line.benefit == 0:
                assert line.outcome == REJECTED
            if line.outcome == APPROVED:
                assert line.benefit > 0 and line.reasons[-1] == Reason.PAID
            if line.outcome == REJECTED:
                assert line.benefit == 0
        total = decision.totals[2]
        if total == 0:
            assert decision.status == CLAIM_REJECTED
        if decision.status == CLAIM_APPROVED:
            assert total > 0 and all(line.outcome == APPROVED for line in decision.lines)


def check_limits(decisions, ref) -> None:
    member_used, family_used, event_used = (
        defaultdict(lambda: ZERO),
        defaultdict(lambda: ZERO),
        defaultdict(lambda: ZERO),
    )
    for decision in decisions:
        for line in decision.lines:
            if line.benefit:
                member_used[(decision.member_id, line.benefit_code)] += line.benefit
                family_used[(decision.family_id, line.benefit_code)] += line.benefit
                event_used[(decision.claim_id, line.benefit_code)] += line.benefit
    plan = ref.benefits[PLAN]
    for (_, code), used in member_used.items():
        assert floor(plan[code].limit_member) is None or used <= floor(plan[code].limit_member)
    for (_, code), used in family_used.items():
        assert floor(plan[code].limit_family) is None or used <= floor(plan[code].limit_family)
    for (_, code), used in event_used.items():
        assert floor(plan[code].per_event_cap) is None or used <= floor(plan[code].per_event_cap)


@pytest.mark.pure
@PURE
@given(data=families(), nonsense=st.booleans(), draw=st.data())
def test_every_decision_adds_up_pays_nothing_negative_and_keeps_within_the_limits(data, nonsense, draw):
    members, claims = data
    ref = reference_for(members, draw.draw(benefits(nonsense)), draw.draw(price_list(nonsense)))
    decisions = list(decide_all(claims, ref).values())
    check_lines_and_claims(decisions)
    check_limits(decisions, ref)
    for decision in (d for d in decisions if not d.reason_code):  # nonsense lines: their own reason, first
        for claim_line, line in zip(
            next(c for c in claims if c.id == decision.claim_id).lines, decision.lines, strict=True
        ):
            if claim_line.quantity < 1:
                assert line.reasons == (Reason.QUANTITY_INVALID,)
            elif claim_line.claimed <= 0:
                assert line.reasons == (Reason.AMOUNT_INVALID,)


@pytest.mark.pure
@PURE
@given(data=families(), nonsense=st.booleans(), draw=st.data())
def test_usage_only_grows_claim_after_claim(data, nonsense, draw):
    members, claims = data
    ref = reference_for(members, draw.draw(benefits(nonsense)), draw.draw(price_list(nonsense)))
    usage = Usage()
    for claim in sorted(claims, key=lambda c: c.order_key):
        before = (dict(usage.member), dict(usage.family))
        decision = adjudicate_claim(claim, ref, usage)
        for key, value in before[0].items():
            assert usage.member[key] >= value
        for key, value in before[1].items():
            assert usage.family[key] >= value
        paid = decision.totals[2]
        assert sum(usage.member.values(), ZERO) - sum(before[0].values(), ZERO) == paid
        assert sum(usage.family.values(), ZERO) - sum(before[1].values(), ZERO) == paid


@pytest.mark.pure
@PURE
@given(data=families(), nonsense=st.booleans(), draw=st.data())
def test_the_outcome_depends_neither_on_the_order_of_the_claims_nor_on_how_families_are_split(data, nonsense, draw):
    members, claims = data
    ref = reference_for(members, draw.draw(benefits(nonsense)), draw.draw(price_list(nonsense)))
    expected = decide_all(claims, ref)
    shuffled = draw.draw(st.permutations(claims))
    assert decide_all(shuffled, ref) == expected
    # Families in chunks of any size, each chunk with its own usage (families share no limit).
    grouped = by_family(shuffled, members)
    chunk_size = draw.draw(st.integers(1, 3))
    families_in_order = draw.draw(st.permutations(sorted(grouped)))
    chunked = {}
    for start in range(0, len(families_in_order), chunk_size):
        chunk = [claim for family in families_in_order[start : start + chunk_size] for claim in grouped[family]]
        chunked |= decide_all(chunk, ref)
    assert chunked == expected


@pytest.mark.pure
@PURE
@given(data=families(), nonsense=st.booleans(), draw=st.data())
def test_a_pended_claim_changes_nothing_for_the_others(data, nonsense, draw):
    """Issue 13: what a pended claim's other lines would have paid is taken back, so the other claims are decided
    exactly as if the pended ones had not been sent."""
    members, claims = data
    ref = reference_for(members, draw.draw(benefits(nonsense)), draw.draw(price_list(nonsense)))
    decisions = decide_all(claims, ref)
    pended = {claim_id for claim_id, d in decisions.items() if d.status == CLAIM_PENDED}
    without = decide_all([c for c in claims if c.id not in pended], ref)
    assert without == {claim_id: d for claim_id, d in decisions.items() if claim_id not in pended}


# --- through the engine, on rows ------------------------------------------------------------------


@contextlib.contextmanager
def rolled_back():
    """Whatever happens inside is undone (a savepoint), so runs and examples do not see each other's rows."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def snapshot() -> dict:
    lines = ClaimLine.objects.values_list(
        "claim_id", "line_number", "outcome", "eligible_amount", "copay_amount", "benefit_amount", "reason_codes"
    )
    claims = Claim.objects.values_list("id", "status", "total_eligible", "total_copay", "total_benefit")
    ledger = BenefitLedger.objects.values_list("claim_line_id", "member_id", "family_id", "benefit_code", "amount")
    return {"lines": sorted(lines), "claims": sorted(claims), "ledger": sorted(ledger)}


db_claims = st.lists(
    st.tuples(
        st.integers(0, 2),  # which member of the family
        st.integers(1, 20),  # days before today
        st.lists(
            st.tuples(st.sampled_from(["T1", "T3"]), st.integers(-1, 3), st.integers(-100, 600)), min_size=1, max_size=2
        ),
    ),
    min_size=1,
    max_size=4,
)


@pytest.mark.django_db
@settings(
    derandomize=True,
    database=None,
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    limits=st.tuples(maybe(money(0, 800)), maybe(money(0, 1200)), st.integers(0, 100), maybe(money(0, 600))),
    family_claims=st.lists(db_claims, min_size=1, max_size=3),
    draw=st.data(),
)
def test_the_engine_decides_the_same_in_any_order_and_chunk_split_and_its_ledger_keeps_the_limits(
    limits, family_claims, draw
):
    limit_member, limit_family, copay, cap = limits
    benefit = {
        "annual_limit_member": limit_member,
        "annual_limit_family": limit_family,
        "copay_percent": Decimal(copay),
        "per_event_cap": cap,
    }
    with rolled_back():
        TariffCodeFactory(code="T1", benefit_code="GP", unit_price=Decimal("250.00"))
        TariffCodeFactory(code="T3", benefit_code="SPECIALIST", unit_price=Decimal("400.00"))
        plan = PlanFactory(benefits={"GP": benefit, "SPECIALIST": benefit})
        today = date.today()
        ids, families_of = [], defaultdict(list)
        for claims in family_claims:
            principal = MemberFactory(plan=plan)
            family = [principal, DependantFactory(principal=principal), DependantFactory(principal=principal)]
            for who, days_ago, claim_lines in claims:
                fields = [
                    {"tariff_code": tariff, "quantity": quantity, "claimed_amount": Decimal(rand)}
                    for tariff, quantity, rand in claim_lines
                ]
                with checks_off(Claim, ClaimLine):  # zero and negative lines, as rows that bypassed validation
                    claim = ClaimFactory(
                        member=family[who], service_date=today - timedelta(days=days_ago), lines=fields
                    )
                ids.append(claim.id)
                families_of[principal.id].append(claim.id)

        with rolled_back():
            engine.adjudicate_claims(ids)
            expected = snapshot()
            check_ledger(plan)
        with rolled_back():
            engine.adjudicate_claims(draw.draw(st.permutations(ids)))
            assert snapshot() == expected
        with rolled_back():  # one call per chunk of whole families, chunks in any order
            chunk_size = draw.draw(st.integers(1, 2))
            order = draw.draw(st.permutations(sorted(families_of)))
            for start in range(0, len(order), chunk_size):
                engine.adjudicate_claims(
                    [i for family in order[start : start + chunk_size] for i in families_of[family]]
                )
            assert snapshot() == expected


def check_ledger(plan) -> None:
    limits = {b.code: b for b in plan.benefits.all()}
    per_member, per_family = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    for member, family, code, year, amount in BenefitLedger.objects.values_list(
        "member_id", "family_id", "benefit_code", "benefit_year", "amount"
    ):
        assert amount > 0
        per_member[(member, code, year)] += amount
        per_family[(family, code, year)] += amount
    for (_, code, _), used in per_member.items():
        assert limits[code].annual_limit_member is None or used <= limits[code].annual_limit_member
    for (_, code, _), used in per_family.items():
        assert limits[code].annual_limit_family is None or used <= limits[code].annual_limit_family
    paid = {
        line_id: benefit
        for line_id, benefit in ClaimLine.objects.filter(benefit_amount__gt=0).values_list("id", "benefit_amount")
    }
    assert dict(BenefitLedger.objects.values_list("claim_line_id", "amount")) == paid
    for status, benefit in Claim.objects.values_list("status", "total_benefit"):
        assert status != "pending"
        assert (benefit == 0) == (status == "rejected")
    assert not ClaimLine.objects.filter(benefit_amount=0, outcome__in=["approved", "partial"]).exists()
