"""Properties of duplicate lines and pre-authorisation budgets (issue 13, parts 2 and 5), with hypothesis.

On the generated families, plans and price lists of test_rule_properties.py, benefits now and then need a
pre-authorisation and members hold several, for a code or a whole benefit, from one practice or any, valid
or not on the day, now and then with a nonsense (negative) amount. Beyond what holds on every line there
(copay + benefit = eligible, benefit >= 0, limits kept): no authorisation pays more than it authorised, a
line draws only on one of its member's authorisations valid that day and for that service, a line needing
one never pays without it, the same service (member, provider, day, code) is paid at most once, and the
outcome depends neither on the order of the claims nor on how families are split into chunks.
Pure rules, derandomized and bounded (80 and 40 examples, ~3 s on a loaded machine).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.adjudication.rules import ZERO, Benefit, ClaimIn, LineIn, MemberInfo, PreAuth, Usage, adjudicate_family
from claims.tests.test_rule_properties import (
    PLAN,
    TARIFFS,
    YEAR,
    by_family,
    check_limits,
    check_lines_and_claims,
    maybe,
    money,
    price_list,
    reference_for,
)

pytestmark = pytest.mark.pure  # no database: run once (scripts/test.sh)

PRACTICES = ("1234567", "7654321")
FAST = settings(
    derandomize=True, database=None, max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def scheme(draw):
    """Families whose claims are mostly valid (so that budgets run out and services repeat), from two
    practices over three weeks; a plan whose benefits may need pre-authorisation; the members' authorisations."""
    members, claims = {}, []
    ids = iter(range(1, 10_000))
    line_ids = iter(range(1, 100_000))
    for _ in range(draw(st.integers(1, 3))):
        principal = next(ids)
        family = [principal] + [next(ids) for _ in range(draw(st.integers(0, 2)))]
        for member in family:
            members[member] = MemberInfo(member, principal, PLAN, "active", date(2020, 1, 1), date(2020, 1, 1), None)
        for _ in range(draw(st.integers(1, 6))):
            claim_id = next(ids)
            service = date(YEAR, 1, 1) + timedelta(days=draw(st.integers(0, 20)))
            lines = tuple(
                LineIn(
                    next(line_ids),
                    draw(st.sampled_from(sorted(TARIFFS))),
                    "J06.9",
                    draw(st.integers(1, 3)),
                    draw(money(1, 1500)),
                )
                for _ in range(draw(st.integers(1, 3)))
            )
            received = datetime.combine(service + timedelta(days=draw(st.integers(0, 3))), datetime.min.time(), UTC)
            claims.append(
                ClaimIn(
                    claim_id,
                    f"C{claim_id:05d}",
                    draw(st.sampled_from(family)),
                    draw(st.sampled_from(PRACTICES)),
                    service,
                    received,
                    lines,
                )
            )
    nonsense = draw(st.integers(0, 4)) == 0  # now and then limits, caps and authorised amounts below zero
    low = -100 if nonsense else 0
    plan = {
        code: Benefit(
            code,
            draw(maybe(money(low, 3000))),
            draw(maybe(money(low, 4000))),
            Decimal(draw(st.sampled_from((0, 0, 10, 25)))),
            draw(maybe(money(low, 2000))),
            draw(st.booleans()),
        )
        for code in sorted(set(TARIFFS.values()))
    }
    ref = reference_for(members, plan, draw(price_list(False)))
    ref.providers = dict.fromkeys(PRACTICES, "active")
    preauth_ids = iter(range(1, 1000))
    for member in members:
        for _ in range(draw(st.integers(0, 3))):
            start = date(YEAR, 1, 1) + timedelta(days=draw(st.integers(0, 15)))
            by_code = draw(st.booleans())
            ref.preauths.setdefault(member, []).append(
                PreAuth(
                    draw(st.sampled_from(("", "", *PRACTICES))),
                    draw(st.sampled_from(sorted(TARIFFS))) if by_code else "",
                    "" if by_code else draw(st.sampled_from(sorted(set(TARIFFS.values())))),
                    draw(money(low or 1, 2000)),
                    start,
                    start + timedelta(days=draw(st.integers(0, 30))),
                    id=next(preauth_ids),
                )
            )
    return ref, claims


def decide_all(claims, ref) -> tuple[dict, Usage]:
    usage = Usage()
    grouped = by_family(claims, ref.members)
    decisions = {d.claim_id: d for family in sorted(grouped) for d in adjudicate_family(grouped[family], ref, usage)}
    return decisions, usage


@FAST
@given(data=scheme())
def test_no_authorisation_pays_more_than_it_authorised_and_no_service_is_paid_twice(data):
    ref, claims = data
    decisions, usage = decide_all(claims, ref)
    check_lines_and_claims(decisions.values())
    check_limits(decisions.values(), ref)
    preauths = {p.id: (member, p) for member, ps in ref.preauths.items() for p in ps}
    claims_by_id = {claim.id: claim for claim in claims}
    drawn, paid_services = defaultdict(lambda: ZERO), set()
    for decision in decisions.values():
        claim = claims_by_id[decision.claim_id]
        for claim_line, line in zip(claim.lines, decision.lines, strict=True):
            if line.benefit > 0:
                key = ClaimIn.line_key(claim, claim_line)
                assert key not in paid_services  # DUPLICATE_LINE: one payment per service
                paid_services.add(key)
            benefit = ref.benefits[PLAN].get(line.benefit_code)
            if line.benefit > 0 and benefit.requires_preauth:
                assert line.preauth_id is not None
            if line.preauth_id is None:
                continue
            member, preauth = preauths[line.preauth_id]
            assert member == claim.member_id and preauth.valid_from <= claim.service_date <= preauth.valid_to
            assert preauth.practice_number in ("", claim.practice_number)
            assert preauth.tariff_code == claim_line.tariff_code or (
                not preauth.tariff_code and preauth.benefit_code == line.benefit_code
            )
            drawn[line.preauth_id] += line.benefit
    for preauth_id, amount in drawn.items():
        assert amount <= max(preauths[preauth_id][1].amount, ZERO)
    assert {k: v for k, v in usage.preauth_drawn.items() if v} == dict(drawn)


@settings(FAST, max_examples=40)  # three decisions of each example
@given(data=scheme(), draw=st.data())
def test_budgets_and_duplicates_decide_the_same_in_any_order_and_chunk_split(data, draw):
    ref, claims = data
    expected, _ = decide_all(claims, ref)
    shuffled = draw.draw(st.permutations(claims))
    assert decide_all(shuffled, ref)[0] == expected
    grouped = by_family(shuffled, ref.members)
    chunk_size = draw.draw(st.integers(1, 2))
    order = draw.draw(st.permutations(sorted(grouped)))
    chunked = {}
    for start in range(0, len(order), chunk_size):
        chunked |= decide_all([c for family in order[start : start + chunk_size] for c in grouped[family]], ref)[0]
    assert chunked == expected
