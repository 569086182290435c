"""Properties of the engine over generated cover history, on rows (issue 13, hypothesis).

test_cover_properties.py checks the pure rules over histories; this runs the same kind of history through the
database and the engine (adjudicate_claims), where the periods, the plans of each benefit year and the ledger
are rows. Families of a principal and up to two dependants pick one of two or three plan options for 2025
and, at the benefit-year boundary, one for 2026 (each option has its own limits and co-payments each year);
members are suspended and reinstated, dependants join late, principals and dependants are terminated (a
terminated period, or periods that just stop); claims fall from December to March across all of it.

What must hold: every line adds up; the ledger keeps within the limits of the plan in force on the service
dates, per member and per family; a claim on a day the member or the principal was not active or not
covered is rejected as such and writes nothing; the decisions and the ledger are the same whatever the order
of the IDs and the split into chunks of whole families; reversing decided claims (claims/reversals.py) and
running the engine again gives the same decisions and the same net ledger, the ledger only growing, and the
balances the members API shows are its net to the cent. Derandomized with no example database: the same
examples on every run.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from claims.adjudication import engine
from claims.adjudication.reasons import Reason
from claims.models import BenefitLedger, Claim, ClaimLine, ClaimReversal, TariffCode
from claims.reversals import claim_reverse
from claims.selectors import member_balances
from claims.tests.factories import MemberFactory, PlanFactory, ProviderFactory
from members.models import Member, MembershipPeriod
from members.services import member_today_sync

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
BOUNDARY = date(2026, 1, 1)  # the benefit-year boundary: plan options change here
YEARS = (2025, 2026)
COVER_START = date(2025, 1, 1)
FIRST_SERVICE = date(2025, 12, 1)
LAST_OFFSET = 110  # services from 1 December to 21 March
CODES = ("GP", "SPECIALIST")
# (benefit, unit price before the boundary, from it): the price list changes with the year too.
TARIFFS = {"T1": ("GP", Decimal("250.00"), Decimal("275.00")), "T3": ("SPECIALIST", Decimal("400.00"), None)}
# No shrinking: a failing example is reported as it was generated (the draws print in full). Shrinking runs the
# engine on rows again for every candidate and took over five minutes on SQLite, a fifth of CI's budget.
DB_HISTORY = settings(
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def money(low: int, high: int):
    """Amounts in whole cents from low to high rand."""
    return st.integers(low * 100, high * 100).map(lambda cents: Decimal(cents).scaleb(-2))


def maybe(strategy):
    return st.one_of(st.none(), strategy)


def day_in_range():
    return st.integers(0, LAST_OFFSET).map(lambda n: FIRST_SERVICE + timedelta(days=n))


# --- generated history, as plain data -------------------------------------------------------------


@dataclass(frozen=True)
class Cover:
    """One member's cover: from `joined`, suspended during `spells`, ended from `ends` (by a terminated
    period, or by the periods stopping the day before: no cover at all after)."""

    joined: date
    spells: tuple[tuple[date, date], ...]
    ends: date | None
    terminated_period: bool
    cover_end_recorded: bool
    merge_alike: bool  # neighbouring periods alike are merged, or left apart (the engine must not care)

    def state_on(self, day: date) -> str | None:
        """active / suspended / terminated on `day`; None where no period covers it."""
        if day < self.joined:
            return None
        if self.ends is not None and day >= self.ends:
            return "terminated" if self.terminated_period else None
        return "suspended" if any(start <= day <= end for start, end in self.spells) else "active"


@dataclass
class FamilyPlan:
    members: list[Cover]  # the principal first
    options: tuple[int, int]  # the plan option in 2025, and in 2026
    claims: list[tuple[int, date, int, list[tuple[str, int, Decimal]]]] = field(default_factory=list)


@st.composite
def covers(draw, dependant: bool) -> Cover:
    joined = draw(st.one_of(st.just(COVER_START), day_in_range())) if dependant else COVER_START
    spells = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(day_in_range())
        spells.append((start, start + timedelta(days=draw(st.integers(0, 29)))))
    ends = draw(maybe(st.integers(15, LAST_OFFSET).map(lambda n: FIRST_SERVICE + timedelta(days=n))))
    if ends is not None and ends <= joined:
        ends = None
    return Cover(joined, tuple(spells), ends, draw(st.booleans()), draw(st.booleans()), draw(st.booleans()))


# (tariff, quantity, amount claimed): None is the scheme's price on the service date (most claims are).
claim_lines = st.lists(
    st.tuples(st.sampled_from(sorted(TARIFFS)), st.integers(1, 3), maybe(money(1, 900))), min_size=1, max_size=3
)


@st.composite
def histories(draw, option_count: int) -> list[FamilyPlan]:
    families = []
    for _ in range(draw(st.integers(2, 3))):  # one family alone has no chunk split to differ by
        members = [draw(covers(False))] + [draw(covers(True)) for _ in range(draw(st.integers(0, 2)))]
        options = (draw(st.integers(0, option_count - 1)), draw(st.integers(0, option_count - 1)))
        family = FamilyPlan(members, options)
        for _ in range(draw(st.integers(1, 5))):
            who = draw(st.integers(0, len(members) - 1))
            service = draw(day_in_range())
            family.claims.append((who, service, draw(st.integers(0, 5)), draw(claim_lines)))
        families.append(family)
    return families


@st.composite
def plan_options(draw) -> list[dict[int, dict]]:
    """Two or three options, each with its benefits for 2025 and for 2026 (now and then one is not on it)."""
    percent = st.one_of(
        st.sampled_from([0, 20, 100]).map(Decimal), st.integers(0, 10000).map(lambda n: Decimal(n).scaleb(-2))
    )
    return [
        {
            year: {
                code: {
                    "annual_limit_member": draw(maybe(money(0, 900))),
                    "annual_limit_family": draw(maybe(money(0, 1500))),
                    "copay_percent": draw(percent),
                    "per_event_cap": draw(maybe(money(0, 700))),
                }
                for code in CODES
                if draw(st.integers(0, 5))
            }
            for year in YEARS
        }
        for _ in range(draw(st.integers(2, 3)))
    ]


def periods_of(cover: Cover, plans: dict[int, object]) -> list[tuple[date, date | None, str, object]]:
    """(from, to, status, plan) rows: a new period at every change of status and at the boundary."""
    cuts = {cover.joined, BOUNDARY}
    for start, end in cover.spells:
        cuts |= {start, end + timedelta(days=1)}
    if cover.ends is not None:
        cuts.add(cover.ends)
    cuts = sorted(day for day in cuts if day >= cover.joined)
    rows = []
    for day, following in zip(cuts, [*cuts[1:], None], strict=True):
        status = cover.state_on(day)
        if status is None:  # after the periods stopped
            continue
        rows.append([day, following - timedelta(days=1) if following else None, status, plans[day.year]])
    if cover.merge_alike:
        merged = [rows[0]]
        for row in rows[1:]:
            if row[2:] == merged[-1][2:]:
                merged[-1][1] = row[1]
            else:
                merged.append(row)
        rows = merged
    return [tuple(row) for row in rows]


# --- the rows -------------------------------------------------------------------------------------


@dataclass
class World:
    """What was created, and what the generated history says about it."""

    covers: dict[int, Cover]  # member id -> its cover
    family_of: dict[int, int]  # member id -> the principal's id
    plans: dict[tuple[int, int], int]  # (family id, benefit year) -> the plan in force that year
    benefits: dict[int, dict[str, dict]]  # plan id -> benefit code -> its fields
    ids: list[int]
    claims_of_family: dict[int, list[int]]


def build(families: list[FamilyPlan], options: list[dict[int, dict]]) -> World:
    for code, (benefit_code, before, after) in TARIFFS.items():
        TariffCode.objects.create(
            code=code,
            description=code,
            benefit_code=benefit_code,
            unit_price=before,
            valid_from=date(2000, 1, 1),
            valid_to=None if after is None else BOUNDARY - timedelta(days=1),
        )
        if after is not None:
            TariffCode.objects.create(
                code=code, description=code, benefit_code=benefit_code, unit_price=after, valid_from=BOUNDARY
            )
    plan_rows = {
        (n, year): PlanFactory(code=f"OPT{n}", year=year, benefits=option[year])
        for n, option in enumerate(options)
        for year in YEARS
    }
    benefits = {plan.id: options[n][year] for (n, year), plan in plan_rows.items()}
    practice = ProviderFactory().practice_number
    world = World({}, {}, {}, benefits, [], defaultdict(list))
    claim_rows, line_rows = [], []
    for family in families:
        plans = {year: plan_rows[(option, year)] for option, year in zip(family.options, YEARS, strict=True)}
        principal = None
        member_ids = []
        for n, cover in enumerate(family.members):
            of_family = {"membership_number": principal.membership_number} if principal else {}
            member = MemberFactory(
                plan=plans[2026],
                principal=principal,
                dependant_code=f"{n:02d}",
                relationship=Member.Relationship.CHILD if principal else Member.Relationship.PRINCIPAL,
                **of_family,
                cover_start=cover.joined,
                cover_end=cover.ends - timedelta(days=1) if cover.ends and cover.cover_end_recorded else None,
            )
            principal = principal or member
            member_ids.append(member.id)
            world.covers[member.id] = cover
            world.family_of[member.id] = principal.id
            MembershipPeriod.objects.bulk_create(
                MembershipPeriod(member=member, valid_from=start, valid_to=end, status=status, plan=plan)
                for start, end, status, plan in periods_of(cover, plans)
            )
        member_today_sync(member_ids=member_ids)
        for year in YEARS:
            world.plans[(principal.id, year)] = plans[year].id
        for who, service, delay, drawn in family.claims:
            lines = [(tariff, n, claimed or price(tariff, service) * n) for tariff, n, claimed in drawn]
            line_rows.append(lines)
            claim_rows.append(
                Claim(
                    claim_number=f"H{len(claim_rows):05d}-{principal.id}",
                    member_id=member_ids[who],
                    practice_number=practice,
                    service_date=service,
                    received_at=datetime.combine(service + timedelta(days=delay), time(8), UTC),
                    total_claimed=sum((claimed for _, _, claimed in lines), ZERO),
                )
            )
    Claim.objects.bulk_create(claim_rows)  # ids come back on SQLite 3.35+ and PostgreSQL
    ClaimLine.objects.bulk_create(
        ClaimLine(
            claim=claim, line_number=n, tariff_code=tariff, icd10_codes="J06.9", quantity=quantity, claimed_amount=amt
        )
        for claim, lines in zip(claim_rows, line_rows, strict=True)
        for n, (tariff, quantity, amt) in enumerate(lines, start=1)
    )
    for claim in claim_rows:
        world.ids.append(claim.id)
        world.claims_of_family[world.family_of[claim.member_id]].append(claim.id)
    return world


def price(tariff: str, day: date) -> Decimal:
    _, before, after = TARIFFS[tariff]
    return before if after is None or day < BOUNDARY else after


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
    claims = Claim.objects.values_list("id", "status", "reason_code", "total_eligible", "total_copay", "total_benefit")
    ledger = BenefitLedger.objects.values_list(
        "claim_line_id", "member_id", "family_id", "benefit_code", "benefit_year", "amount"
    )
    return {"lines": sorted(lines), "claims": sorted(claims), "ledger": sorted(ledger)}


# --- what must hold -------------------------------------------------------------------------------


def limit(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def expected_rejection(world: World, member_id: int, day: date) -> str:
    """MEMBER_NOT_ACTIVE when the member or the principal was suspended or terminated that day, NO_COVER when
    either had no period then (joined later, or the periods stopped), else nothing (in that order)."""
    states = {world.covers[m].state_on(day) for m in {member_id, world.family_of[member_id]}}
    if states & {"suspended", "terminated"}:
        return Reason.MEMBER_NOT_ACTIVE
    if None in states:
        return Reason.NO_COVER
    return ""


def check_decisions(world: World) -> None:
    claims = {
        row[0]: row[1:]
        for row in Claim.objects.filter(id__in=world.ids).values_list("id", "member_id", "service_date", "status")
    }
    claim_reasons = dict(Claim.objects.filter(id__in=world.ids).values_list("id", "reason_code"))
    ledger = net_per_line()
    event = defaultdict(lambda: ZERO)
    for line_id, claim_id, tariff, outcome, eligible, copay, benefit, code, reasons in ClaimLine.objects.values_list(
        "id",
        "claim_id",
        "tariff_code",
        "outcome",
        "eligible_amount",
        "copay_amount",
        "benefit_amount",
        "benefit_code",
        "reason_codes",
    ):
        member_id, day, status = claims[claim_id]
        family_id = world.family_of[member_id]
        reasons = reasons.split(",")
        # 1. Every line adds up, and a line that pays nothing is rejected.
        assert status != "pending" and outcome != "pending"
        assert benefit >= 0 and 0 <= copay <= eligible
        assert copay + benefit == eligible
        assert (benefit == 0) == (outcome == "rejected")
        # 3. Not active, or not covered, on the service date (own period or the principal's): rejected as
        # such, the whole claim, and only then.
        expected = expected_rejection(world, member_id, day)
        if expected:
            assert (status, claim_reasons[claim_id], reasons) == ("rejected", expected, [expected])
            assert line_id not in ledger
            continue
        assert claim_reasons[claim_id] not in (Reason.MEMBER_NOT_ACTIVE, Reason.NO_COVER)
        if claim_reasons[claim_id]:  # a whole resubmission of an accepted claim
            assert claim_reasons[claim_id] == Reason.DUPLICATE_CLAIM and line_id not in ledger
            continue
        # The plan in force on the service date decides what is on it and its co-payment.
        plan = world.benefits[world.plans[(family_id, day.year)]]
        assert (reasons == [Reason.BENEFIT_NOT_ON_PLAN]) == (TARIFFS[tariff][0] not in plan)
        if outcome == "approved":
            percent = plan[code]["copay_percent"]
            assert copay == (eligible * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            assert reasons[-1] == Reason.PAID
        # The ledger holds exactly the paid lines, each under its member, family, benefit and service year.
        if benefit:
            assert ledger[line_id] == (member_id, family_id, code, day.year, benefit)
            event[(claim_id, code)] += benefit
            cap = limit(plan[code]["per_event_cap"])
            assert cap is None or event[(claim_id, code)] <= cap
        else:
            assert line_id not in ledger


def net_per_line() -> dict[int, tuple]:
    """claim line -> (member, family, benefit, year, net amount), lines whose entries add up to 0 left out.

    Summed here, in Decimal, like decisions_and_net_ledger."""
    found: dict[int, tuple] = {}
    for line_id, *where, amount in BenefitLedger.objects.values_list(
        "claim_line_id", "member_id", "family_id", "benefit_code", "benefit_year", "amount"
    ):
        assert amount != 0
        if line_id in found:
            assert list(found[line_id][:-1]) == where  # a reversal and a new decision land where the first did
            amount += found[line_id][-1]
        found[line_id] = (*where, amount)
    return {line_id: entry for line_id, entry in found.items() if entry[-1]}


def check_ledger_limits(world: World) -> None:
    """2. What the ledger holds per member and per family, benefit and year, within that year's plan."""
    per_member, per_family = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    for member_id, family_id, code, year, amount in net_per_line().values():
        assert amount > 0 and family_id == world.family_of[member_id]
        per_member[(member_id, code, year)] += amount
        per_family[(family_id, code, year)] += amount
    for (member_id, code, year), used in per_member.items():
        benefit = world.benefits[world.plans[(world.family_of[member_id], year)]][code]
        assert limit(benefit["annual_limit_member"]) is None or used <= benefit["annual_limit_member"]
    for (family_id, code, year), used in per_family.items():
        benefit = world.benefits[world.plans[(family_id, year)]][code]
        assert limit(benefit["annual_limit_family"]) is None or used <= benefit["annual_limit_family"]


@pytest.mark.django_db
@DB_HISTORY
@given(options=plan_options(), draw=st.data())
def test_the_engine_decides_by_the_cover_in_force_in_any_order_and_chunk_split(options, draw):
    families = draw.draw(histories(len(options)))
    with rolled_back():
        world = build(families, options)
        with rolled_back():
            engine.adjudicate_claims(world.ids)
            expected = snapshot()
            check_decisions(world)
            check_ledger_limits(world)
        # 4. The same decisions and ledger whatever the order of the IDs and the split into chunks.
        with rolled_back():
            engine.adjudicate_claims(draw.draw(st.permutations(world.ids)))
            assert snapshot() == expected
        with rolled_back():  # one call per chunk of whole families (never all in one), chunks in any order
            order = draw.draw(st.permutations(sorted(world.claims_of_family)))
            chunk_size = draw.draw(st.integers(1, max(1, len(order) - 1)))
            for start in range(0, len(order), chunk_size):
                engine.adjudicate_claims(
                    [i for family in order[start : start + chunk_size] for i in world.claims_of_family[family]]
                )
            assert snapshot() == expected


# --- reversal, then the engine again ----------------------------------------------------------------


def decisions_and_net_ledger() -> dict:
    """The claims' decisions and what the ledger holds net, per member, benefit and year and per line."""
    claims = Claim.objects.values_list("id", "status", "reason_code", "total_eligible", "total_copay", "total_benefit")
    lines = ClaimLine.objects.values_list(
        "claim_id",
        "line_number",
        "outcome",
        "eligible_amount",
        "copay_amount",
        "benefit_amount",
        "benefit_code",
        "reason_codes",
    )
    per_member, per_line = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    for line_id, member_id, family_id, code, year, amount in BenefitLedger.objects.values_list(
        "claim_line_id", "member_id", "family_id", "benefit_code", "benefit_year", "amount"
    ):  # summed in Decimal: SQLite's SUM adds floats, and an entry less its reversal may not come to 0 there
        per_member[(member_id, family_id, code, year)] += amount
        per_line[line_id] += amount
    return {
        "claims": sorted(claims),
        "lines": sorted(lines),
        "per_member": sorted(per_member.items()),
        "per_line": sorted(per_line.items()),
    }


def check_balances(world: World) -> None:
    """The balances the members API shows (sums in the database) are the ledger's net, to the cent."""
    net = decisions_and_net_ledger()["per_member"]
    by_member = defaultdict(lambda: ZERO)
    by_family = defaultdict(lambda: ZERO)
    for (member_id, family_id, code, year), amount in net:
        by_member[(member_id, code, year)] += amount
        by_family[(family_id, code, year)] += amount
    for member in Member.objects.filter(id__in=list(world.covers)).select_related("plan"):
        for year in YEARS:
            for balance in member_balances(member=member, year=year):
                code = balance.benefit_code
                assert balance.used_by_member == by_member[(member.id, code, year)]
                assert balance.used_by_family == by_family[(world.family_of[member.id], code, year)]


def entries(claim_ids) -> list[tuple]:
    return sorted(
        BenefitLedger.objects.filter(claim_line__claim_id__in=claim_ids).values_list(
            "claim_line_id", "member_id", "family_id", "benefit_code", "benefit_year", "amount"
        )
    )


@pytest.mark.django_db
@DB_HISTORY
@given(options=plan_options(), draw=st.data())
def test_reversing_decisions_and_deciding_again_gives_the_same_decisions_and_net_ledger(options, draw):
    families = draw.draw(histories(len(options)))
    with rolled_back():
        world = build(families, options)
        engine.adjudicate_claims(world.ids)
        check_decisions(world)
        check_ledger_limits(world)
        expected = decisions_and_net_ledger()
        paid = entries(world.ids)
        # Every family's claims, or some families' (a family's usage is its own: the others must not move),
        # reversed one by one in any order, the families' claims interleaved.
        every = sorted(world.claims_of_family)
        chosen = draw.draw(st.one_of(st.just(every), st.lists(st.sampled_from(every), min_size=1, unique=True)))
        reversed_ids = draw.draw(st.permutations([i for family in chosen for i in world.claims_of_family[family]]))
        for claim_id in reversed_ids:
            claim_reverse(claim_id=claim_id, reason="property test")

        # 5. Append-only: each entry of a reversed claim has its reversing twin, the rest is as it was.
        assert set(Claim.objects.filter(id__in=reversed_ids).values_list("status", flat=True)) == {"pending"}
        was_paid = entries(reversed_ids)
        positive = [entry for entry in was_paid if entry[-1] > 0]
        assert len(BenefitLedger.objects.all()) == len(paid) + len(positive)
        assert sorted((*entry[:-1], -entry[-1]) for entry in positive) == [e for e in was_paid if e[-1] < 0]
        net = decisions_and_net_ledger()
        assert {line for line, total in net["per_line"] if total} == {
            line for line, *_ in paid if line not in {entry[0] for entry in positive}
        }
        check_balances(world)

        engine.adjudicate_claims(draw.draw(st.permutations(world.ids)))
        check_decisions(world)
        check_ledger_limits(world)
        assert decisions_and_net_ledger() == expected
        assert len(BenefitLedger.objects.all()) == len(paid) + 2 * len(positive)
        check_balances(world)
        # The same outcome again: nobody is told of a change.
        assert not ClaimReversal.objects.exclude(outcome_changed=False).exists()
