"""The demo data: the command, determinism, repeat runs, and that its claims reach every reason code."""

from __future__ import annotations

import hashlib
import io
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from claims.adjudication.engine import adjudicate_claims
from claims.adjudication.reasons import BY_AN_ASSESSOR, REFUSED_BY_THE_DATABASE, RETIRED, Reason
from claims.demo import demo_data_seed
from claims.models import Claim, ClaimLine
from claims.tests.factories import ClaimFactory, DependantFactory, MemberFactory, PlanFactory, TariffCodeFactory
from members.models import Member, Scheme
from providers.models import Provider

TODAY = date(2026, 11, 25)  # fixed, so that the data (and what it reaches) does not change with the calendar

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


def claims_digest() -> str:
    """What the claims say, without database ids: equal for equal data."""
    lines = defaultdict(list)
    for row in ClaimLine.objects.order_by("claim_id", "line_number").values_list(
        "claim_id", "line_number", "tariff_code", "icd10_codes", "quantity", "claimed_amount"
    ):
        lines[row[0]].append(row[1:])
    digest = hashlib.sha256()
    for row in Claim.objects.order_by("claim_number").values_list(
        "id",
        "claim_number",
        "member__membership_number",
        "member__dependant_code",
        "practice_number",
        "service_date",
        "received_at",
        "total_claimed",
    ):
        digest.update(repr((row[1:], lines[row[0]])).encode())
    return digest.hexdigest()


def seed_digest(**kwargs) -> str:
    """Seed inside a transaction that is rolled back, and return the digest of the claims it made."""
    try:
        with transaction.atomic():
            demo_data_seed(today=TODAY, **kwargs)
            digest = claims_digest()
            raise Rollback
    except Rollback:
        pass
    assert not Claim.objects.exists()
    return digest


def adjudicate_all() -> Counter:
    """Decide every claim with the engine; count the reason codes on the claims and their lines."""
    adjudicate_claims(Claim.objects.values_list("id", flat=True))
    assert not Claim.objects.filter(status=Claim.Status.PENDING).exists()  # pended ones wait for an assessor
    seen = Counter(Claim.objects.exclude(reason_code="").values_list("reason_code", flat=True))
    for codes in ClaimLine.objects.values_list("reason_codes", flat=True):
        seen.update(code for code in codes.split(",") if code)
    return seen


def test_the_command_creates_the_requested_numbers_of_members_and_claims():
    out = io.StringIO()
    call_command("seed_demo_data", "--members", "57", "--claims", "130", "--seed", "7", stdout=out)

    assert "claims: 130" in out.getvalue()
    assert Member.objects.count() == 57
    assert Claim.objects.count() == 130
    assert Claim.objects.filter(status=Claim.Status.PENDING).count() == 130
    assert Member.objects.filter(dependant_code="00").count() == Member.objects.filter(principal=None).count()
    assert Provider.objects.count() >= 10


def test_the_command_with_if_empty_adds_nothing_to_a_database_that_has_a_scheme():
    call_command("seed_demo_data", "--members", "20", "--claims", "30", "--if-empty", stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_demo_data", "--members", "20", "--claims", "30", "--if-empty", stdout=out)

    assert "no demo data added" in out.getvalue()
    assert (Scheme.objects.count(), Member.objects.count(), Claim.objects.count()) == (1, 20, 30)


@pytest.mark.parametrize("option", ["--members", "--claims"])
@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_the_command_rejects_a_count_that_is_not_a_positive_whole_number(option, value):
    with pytest.raises(CommandError):
        call_command("seed_demo_data", option, value)

    assert not Member.objects.exists()


def test_the_same_seed_gives_the_same_claims_and_another_seed_does_not():
    first = seed_digest(members=300, claims=600, seed=5)
    again = seed_digest(members=300, claims=600, seed=5)
    other = seed_digest(members=300, claims=600, seed=6)

    assert first == again
    assert first != other


def test_running_it_twice_adds_a_second_set():
    first = demo_data_seed(members=80, claims=150, today=TODAY)
    second = demo_data_seed(members=80, claims=150, today=TODAY)

    assert (first["scheme"], second["scheme"]) == ("DEMO1", "DEMO2")
    assert second["tariff_codes"] == 0  # the price list is shared: the second run reuses it
    assert Scheme.objects.count() == 2
    assert Member.objects.count() == 160
    assert Claim.objects.count() == 300
    assert Claim.objects.values("claim_number").distinct().count() == 300


def test_the_demo_claims_reach_every_reason_code():
    demo_data_seed(members=1000, claims=3000, seed=42, today=TODAY)

    seen = adjudicate_all()

    # The three codes for rows the database refuses (quantity, amount, price) cannot come from demo data, nor
    # can a code no longer given, nor an assessor's.
    not_from_demo_data = (*REFUSED_BY_THE_DATABASE, *RETIRED, *BY_AN_ASSESSOR)
    assert [reason.value for reason in Reason if not seen[reason] and reason not in not_from_demo_data] == []


def test_the_factories_default_claim_is_paid_in_full_and_lines_can_be_given():
    family = MemberFactory(plan=PlanFactory(benefits={"GP": {"copay_percent": Decimal("10")}}))
    child = DependantFactory(principal=family)
    TariffCodeFactory(code="0191", unit_price=Decimal("560.00"))
    ClaimFactory(member=family)
    ClaimFactory(member=child, lines=[{"tariff_code": "0191", "quantity": 2}, {"icd10_codes": "XYZ"}])

    seen = adjudicate_all()

    assert (child.membership_number, child.dependant_code, child.plan) == (
        family.membership_number,
        "01",
        family.plan,
    )
    assert DependantFactory(principal=family).dependant_code == "02"
    assert Claim.objects.get(member=child).total_claimed == Decimal("1520.00")
    assert seen == {Reason.PAID: 2, Reason.COPAY_APPLIED: 2, Reason.ICD10_INVALID: 1}
