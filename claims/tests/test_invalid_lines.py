"""Adjudication never pays on nonsense (issue 8 §1): each measured defect, on plain data and through the engine.

The database refuses such rows (test_valid_data.py); the rules refuse them too, whatever path the row came
in by, so the engine tests here switch the table's checks off (`checks_off`) to store them as a restored
dump, a hand-written SQL insert or a row older than the constraints would.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from bench.naive_adjudication import adjudicate_claim_naive
from claims.adjudication import engine
from claims.adjudication.reasons import Reason
from claims.adjudication.rules import Benefit, Reference, Tariff, Usage, adjudicate_family
from claims.models import BenefitLedger, Claim, ClaimLine
from claims.tests.factories import ClaimFactory, MemberFactory, PlanFactory
from claims.tests.test_adjudication_rules import PLAN, PRINCIPAL, SERVICE, claim, decide, line, reference
from notifications.models import Notification


def gp(limit_member=None, limit_family=None, copay="0", cap=None) -> Reference:
    """The test reference with a GP benefit as given (no pre-authorisation)."""
    benefit = Benefit("GP", limit_member, limit_family, D(copay), cap, False)
    ref = reference()
    ref.benefits = {PLAN: {**ref.benefits[PLAN], "GP": benefit}}
    return ref


def only_line(decision):
    [line_decision] = decision.lines
    return line_decision


# --- the line itself is nonsense ------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, -1, -5])
def test_it_rejects_a_line_with_a_quantity_below_one(quantity):
    decision = decide(claim(lines=[line(quantity=quantity)]))
    ld = only_line(decision)
    assert (ld.outcome, ld.reasons, ld.benefit, ld.eligible, ld.copay) == (
        "rejected",
        (Reason.QUANTITY_INVALID,),
        0,
        0,
        0,
    )
    assert decision.status == "rejected"


@pytest.mark.parametrize("claimed", ["0.00", "-100.00", "-0.01", "NaN", "Infinity", "-Infinity", "0.001"])
def test_it_rejects_a_line_that_claims_nothing_a_negative_or_a_non_finite_amount(claimed):
    decision = decide(claim(lines=[line(claimed=claimed)]))
    ld = only_line(decision)
    assert (ld.outcome, ld.reasons, ld.benefit) == ("rejected", (Reason.AMOUNT_INVALID,), 0)
    assert decision.status == "rejected"
    assert decision.totals == (0, 0, 0)


def test_quantity_and_amount_are_checked_before_anything_else_on_the_line():
    assert only_line(decide(claim(lines=[line(tariff="9999", icd="?", quantity=0)]))).reasons == (
        Reason.QUANTITY_INVALID,
    )
    assert only_line(decide(claim(lines=[line(tariff="9999", icd="?", claimed="-1.00")]))).reasons == (
        Reason.AMOUNT_INVALID,
    )


def test_a_negative_line_does_not_free_the_limit_for_later_claims():
    # Measured: -100.00 then 400.00 and 400.00 against a member limit of 500.00 paid 600.00.
    ref = gp(limit_member=D("500.00"))
    claims = [
        claim(1, service=SERVICE - timedelta(days=2), lines=[line(claimed="-100.00")]),
        claim(2, service=SERVICE - timedelta(days=1), lines=[line(claimed="400.00")]),
        claim(3, service=SERVICE, lines=[line(claimed="400.00")]),
    ]
    usage = Usage()
    decisions = adjudicate_family(claims, ref, usage)
    assert [d.totals[2] for d in decisions] == [0, D("400.00"), D("100.00")]
    assert [d.status for d in decisions] == ["rejected", "approved", "partially_approved"]
    assert decisions[0].lines[0].reasons == (Reason.AMOUNT_INVALID,)
    assert usage.member[(PRINCIPAL, "GP", SERVICE.year)] == D("500.00")


# --- the reference data is nonsense --------------------------------------------------------------


def test_a_copayment_of_100_percent_rejects_the_line_with_its_reason():
    decision = decide(claim(), gp(copay="100"))
    ld = only_line(decision)
    assert (ld.outcome, ld.eligible, ld.copay, ld.benefit) == ("rejected", D("400.00"), D("400.00"), 0)
    assert ld.reasons == (Reason.COPAY_APPLIED,)
    assert decision.status == "rejected"


def test_a_copayment_above_100_percent_never_makes_a_negative_benefit():
    # Measured: 150 % approved with benefit -200.00 (-500.00 on a line of 1,000.00).
    decision = decide(claim(lines=[line(quantity=3, claimed="1000.00")]), gp(copay="150"))
    ld = only_line(decision)
    assert (ld.outcome, ld.eligible, ld.copay, ld.benefit) == ("rejected", D("1000.00"), D("1000.00"), 0)
    assert ld.reasons[-1] == Reason.COPAY_APPLIED
    assert decision.status == "rejected"


def test_a_negative_copayment_pays_no_more_than_eligible():
    ld = only_line(decide(claim(), gp(copay="-20")))
    assert (ld.outcome, ld.eligible, ld.copay, ld.benefit) == ("approved", D("400.00"), 0, D("400.00"))


@pytest.mark.parametrize("price", ["0.00", "-400.00", "NaN"])
def test_it_rejects_a_line_whose_tariff_price_is_not_positive(price):
    ref = reference(tariffs={"0190": [Tariff(date(2020, 1, 1), None, D(price), "GP")]})
    ld = only_line(decide(claim(), ref))
    assert (ld.outcome, ld.reasons, ld.benefit) == ("rejected", (Reason.TARIFF_PRICE_INVALID,), 0)


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        (gp(limit_member=D("-100.00")), Reason.MEMBER_LIMIT_REACHED),
        (gp(limit_family=D("-100.00")), Reason.FAMILY_LIMIT_REACHED),
        (gp(cap=D("-100.00")), Reason.EVENT_CAP_APPLIED),
        (gp(limit_member=D("0.00")), Reason.MEMBER_LIMIT_REACHED),
        (gp(cap=D("0.00")), Reason.EVENT_CAP_APPLIED),
    ],
)
def test_a_negative_or_zero_limit_pays_nothing_and_never_lowers_the_usage(ref, reason):
    usage = Usage()
    usage.member[(PRINCIPAL, "GP", SERVICE.year)] = D("50.00")
    usage.family[(PRINCIPAL, "GP", SERVICE.year)] = D("50.00")
    decision = decide(claim(), ref, usage)
    ld = only_line(decision)
    assert (ld.outcome, ld.benefit, ld.reasons[-1]) == ("rejected", 0, reason)
    assert decision.status == "rejected"
    assert usage.member[(PRINCIPAL, "GP", SERVICE.year)] == D("50.00")
    assert usage.family[(PRINCIPAL, "GP", SERVICE.year)] == D("50.00")


def test_a_line_after_the_event_cap_is_used_up_is_rejected_not_approved():
    ref = gp(cap=D("400.00"))
    ref.tariffs["0192"] = [Tariff(date(2020, 1, 1), None, D("300.00"), "GP")]  # another service, not a duplicate
    decision = decide(claim(lines=[line(), line(tariff="0192", claimed="300.00")]), ref)
    assert [ld.outcome for ld in decision.lines] == ["approved", "rejected"]
    assert decision.lines[1].reasons[-1] == Reason.EVENT_CAP_APPLIED
    assert decision.status == "partially_approved"


def test_a_claim_of_lines_that_each_pay_nothing_is_rejected():
    decision = decide(claim(lines=[line(), line(claimed="350.00")]), gp(copay="100"))
    assert decision.status == "rejected" and decision.totals[2] == 0


def test_usage_of_a_member_suspended_by_reference_is_left_alone():
    # A claim-level rejection touches no usage, even with nonsense lines.
    ref = reference()
    ref.members = {PRINCIPAL: replace(ref.members[PRINCIPAL], status="suspended", status_since=date(2026, 1, 1))}
    usage = Usage()
    decide(claim(lines=[line(claimed="-100.00")]), ref, usage)
    assert not any(usage.member.values())


# --- through the engine and the naive baseline, on rows that bypassed validation ------------------


@contextlib.contextmanager
def checks_off(*models):
    """Store rows the constraints would refuse: SQLite ignores CHECKs; PostgreSQL drops them (the drop is rolled
    back with the test's transaction)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
        return
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            # Every CHECK of the table: ours, and PositiveIntegerField's "quantity >= 0".
            cursor.execute("SELECT conname FROM pg_constraint WHERE contype = 'c' AND conrelid = %s::regclass", [table])
            for (name,) in cursor.fetchall():
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield


@pytest.mark.django_db
@pytest.mark.parametrize("adjudicate", ["engine", "naive"])
@pytest.mark.parametrize("fields", [{"quantity": 0}, {"claimed_amount": D("0.00")}, {"claimed_amount": D("-100.00")}])
def test_a_stored_line_of_nothing_is_rejected_and_the_member_is_not_told_approved(adjudicate, fields):
    member = MemberFactory(email="principal@example.com")
    with checks_off(ClaimLine, Claim):
        bad = ClaimFactory(member=member, lines=[fields])
    if adjudicate == "engine":
        engine.adjudicate_claims([bad.id])
    else:
        adjudicate_claim_naive(bad.id)
    bad.refresh_from_db()
    stored = bad.lines.get()
    assert (bad.status, bad.total_benefit) == ("rejected", 0)
    assert stored.outcome == "rejected" and stored.benefit_amount == 0
    assert stored.reason_codes in (Reason.QUANTITY_INVALID, Reason.AMOUNT_INVALID)
    assert not BenefitLedger.objects.exists()
    if adjudicate == "engine":
        subject = Notification.objects.get(claim=bad).subject.lower()
        assert "approved" not in subject


@pytest.mark.django_db
def test_a_negative_line_in_a_bulk_call_does_not_pay_beyond_the_member_limit():
    plan = PlanFactory(benefits={"GP": {"annual_limit_member": D("500.00")}})
    member = MemberFactory(plan=plan)
    yesterday = timezone.localdate() - timedelta(days=1)
    with checks_off(ClaimLine, Claim):
        negative = ClaimFactory(
            member=member, service_date=yesterday - timedelta(days=2), lines=[{"claimed_amount": D("-100.00")}]
        )
    first = ClaimFactory(
        member=member, service_date=yesterday - timedelta(days=1), lines=[{"claimed_amount": D("400.00")}]
    )
    second = ClaimFactory(
        member=member, service_date=yesterday, lines=[{"claimed_amount": D("400.00"), "icd10_codes": "J20.9"}]
    )
    engine.adjudicate_claims([second.id, negative.id, first.id])
    assert BenefitLedger.objects.aggregate(total=Sum("amount"))["total"] == D("500.00")
    assert Claim.objects.get(id=negative.id).status == "rejected"


@pytest.mark.django_db
def test_the_engine_and_the_naive_baseline_reject_a_100_percent_copayment_alike():
    plan = PlanFactory(benefits={"GP": {"copay_percent": D("100")}})
    one, two = ClaimFactory(member__plan=plan), ClaimFactory(member__plan=plan)
    engine.adjudicate_claims([one.id])
    adjudicate_claim_naive(two.id)
    rows = {
        claim_id: (status, benefit, outcome, reasons)
        for claim_id, status, benefit, outcome, reasons in Claim.objects.values_list(
            "id", "status", "total_benefit", "lines__outcome", "lines__reason_codes"
        )
    }
    assert rows[one.id] == rows[two.id] == ("rejected", 0, "rejected", "COPAY_APPLIED")
    assert not BenefitLedger.objects.exists()


def test_a_claim_with_a_non_finite_amount_beside_a_good_line_is_decided_not_crashed():
    decision = decide(claim(lines=[line(claimed="NaN"), line(claimed="400.00"), line(claimed="sNaN")]))
    assert [ld.outcome for ld in decision.lines] == ["rejected", "approved", "rejected"]
    assert decision.status == "partially_approved"
