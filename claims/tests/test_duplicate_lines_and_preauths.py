"""Issue 13, parts 2 and 5: a service is paid once (DUPLICATE_LINE), and a pre-authorisation is a budget
(PREAUTH_LIMIT_APPLIED): each scenario with the decision an assessor expects, on plain data and through
the engine on rows (whose set-based loading must find what earlier runs paid)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims.adjudication.engine import adjudicate_claims
from claims.adjudication.reasons import Reason
from claims.adjudication.rules import Benefit, PreAuth, Tariff, Usage
from claims.models import BenefitLedger, Claim, ClaimLine
from claims.tests.factories import (
    ClaimFactory,
    MemberFactory,
    PlanFactory,
    PreAuthorisationFactory,
    ProviderFactory,
    TariffCodeFactory,
)
from claims.tests.test_adjudication_rules import PRINCIPAL, SERVICE, SPOUSE, claim, decide, line, reference

YEAR = (date(2026, 1, 1), date(2026, 12, 31))


def hospital(preauths, **tariffs) -> object:
    """The test reference with these pre-authorisations for the principal (and more hospital tariffs)."""
    ref = reference(preauths={PRINCIPAL: preauths})
    for code, price in tariffs.items():
        ref.tariffs[code.removeprefix("t")] = [Tariff(date(2020, 1, 1), None, D(price), "HOSPITAL")]
    return ref


def admission(claim_id, tariff="1010", claimed="3000.00", service=SERVICE, **kwargs):
    return claim(claim_id, service=service, lines=[line(tariff=tariff, icd="S52.5", claimed=claimed)], **kwargs)


# --- pre-authorisations as budgets, on plain data ------------------------------------------------


def test_one_preauthorisation_of_3000_pays_two_claims_of_3000_once_in_full():
    ref, usage = hospital([PreAuth("", "1010", "", D("3000.00"), *YEAR, id=7)]), Usage()
    first = decide(admission(1), ref, usage)
    # A second admission (the next day, so not the same service): nothing of the authorisation is left.
    second = decide(admission(2, service=SERVICE + timedelta(days=1)), ref, usage)
    assert (first.status, first.lines[0].benefit, first.lines[0].preauth_id) == ("approved", D("3000.00"), 7)
    # Rejected, paying 0 (a claim that pays nothing is never approved), with the reason that made it 0, as a
    # limit that ran out does; the member's portion is the whole eligible amount.
    assert (second.status, second.lines[0].benefit, second.lines[0].copay) == ("rejected", 0, D("3000.00"))
    assert second.lines[0].reasons == (Reason.PREAUTH_LIMIT_APPLIED,)
    assert second.lines[0].preauth_id is None
    assert usage.preauth_drawn[7] == D("3000.00")


def test_an_amount_a_cent_over_the_authorisation_pays_the_authorised_amount():
    ref = hospital([PreAuth("", "1010", "", D("2999.99"), *YEAR, id=1)])
    decision = decide(admission(1, claimed="3000.00"), ref)
    ld = decision.lines[0]
    assert (decision.status, ld.outcome, ld.eligible, ld.benefit, ld.copay) == (
        "partially_approved",
        "partial",
        D("3000.00"),
        D("2999.99"),
        D("0.01"),
    )
    assert ld.reasons == (Reason.PREAUTH_LIMIT_APPLIED,)


def test_a_preauthorisation_is_drawn_down_across_the_lines_of_a_claim():
    # Category-wide, R5,000: theatre 3,000 then ward 3,000 on one admission: the ward line gets the 2,000 left.
    ref = hospital([PreAuth("", "", "HOSPITAL", D("5000.00"), *YEAR, id=3)], t1020="3000.00")
    lines = [line(tariff="1010", icd="S52.5", claimed="3000.00"), line(tariff="1020", icd="S52.5", claimed="3000.00")]
    ref.benefits[10]["HOSPITAL"] = Benefit("HOSPITAL", None, None, D("0"), None, True)  # no per-event cap
    decision = decide(claim(1, lines=lines), ref)
    assert [ld.benefit for ld in decision.lines] == [D("3000.00"), D("2000.00")]
    assert decision.lines[1].reasons == (Reason.PREAUTH_LIMIT_APPLIED,)


def test_a_budget_is_drawn_by_what_was_paid_after_the_copayment():
    # 10 % co-payment: of 3,000 eligible the scheme pays 2,700 against an authorisation of 3,000; 300 remain.
    ref = hospital([PreAuth("", "1010", "", D("3000.00"), *YEAR, id=1)])
    ref.benefits[10]["HOSPITAL"] = Benefit("HOSPITAL", None, None, D("10"), None, True)
    usage = Usage()
    first = decide(admission(1), ref, usage)
    second = decide(admission(2, service=SERVICE + timedelta(days=1)), ref, usage)
    assert first.lines[0].benefit == D("2700.00") and second.lines[0].benefit == D("300.00")
    assert second.lines[0].reasons == (Reason.COPAY_APPLIED, Reason.PREAUTH_LIMIT_APPLIED)
    assert usage.preauth_drawn[1] == D("3000.00")


def test_of_two_valid_authorisations_a_line_draws_on_the_one_with_most_left():
    ref = hospital(
        [PreAuth("", "1010", "", D("1000.00"), *YEAR, id=1), PreAuth("", "1010", "", D("3000.00"), *YEAR, id=2)]
    )
    decision = decide(admission(1), ref)
    assert (decision.lines[0].benefit, decision.lines[0].preauth_id) == (D("3000.00"), 2)


def test_expiry_and_the_authorising_practice_are_still_checked():
    expired = [PreAuth("", "1010", "", D("6000.00"), date(2025, 1, 1), date(2025, 12, 31), id=1)]
    elsewhere = [PreAuth("1111111", "1010", "", D("6000.00"), *YEAR, id=1)]
    assert decide(admission(1), hospital(expired)).lines[0].reasons == (Reason.PREAUTH_EXPIRED,)
    assert decide(admission(1), hospital(elsewhere)).lines[0].reasons == (Reason.PREAUTH_MISSING,)


# --- duplicate lines, on plain data ----------------------------------------------------------------


def test_the_same_consultation_twice_on_one_claim_pays_once():
    decision = decide(claim(1, lines=[line(), line()]))
    assert [ld.outcome for ld in decision.lines] == ["approved", "rejected"]
    assert decision.lines[1].reasons == (Reason.DUPLICATE_LINE,)
    assert decision.status == "partially_approved"


def test_a_repeated_line_is_decided_when_the_first_one_did_not_pay():
    decision = decide(claim(1, lines=[line(icd="nonsense"), line()]))
    assert [ld.reasons[-1] for ld in decision.lines] == [Reason.ICD10_INVALID, Reason.PAID]


def test_a_consultation_billed_again_at_a_different_amount_is_a_duplicate_line():
    usage = Usage()
    first = decide(claim(1, lines=[line(claimed="400.00")]), usage=usage)
    again = decide(claim(2, lines=[line(claimed="450.00")]), usage=usage)  # not the same claim: amounts differ
    assert first.status == "approved"
    assert (again.status, again.reason_code, again.lines[0].reasons) == ("rejected", "", (Reason.DUPLICATE_LINE,))


def test_another_family_member_or_provider_or_day_is_not_a_duplicate():
    usage = Usage()
    decide(claim(1), usage=usage)
    others = [claim(2, member=SPOUSE), claim(3, practice="1234568"), claim(4, service=SERVICE - timedelta(days=1))]
    ref = reference(providers={"1234567": "active", "1234568": "active"})
    spouse, other_provider, other_day = [decide(c, ref, usage) for c in others]
    assert all(d.lines[0].benefit > 0 and Reason.DUPLICATE_LINE not in d.lines[0].reasons for d in (spouse, other_day))
    # Another provider billing the same service for the same member that day is no duplicate either, but an
    # assessor sees it before it is paid (issue 13, part 3).
    assert (other_provider.status, other_provider.reason_code) == ("pended", Reason.PENDED_NEAR_DUPLICATE)
    assert [(d.outcome, d.benefit, d.reasons) for d in other_provider.lines] == [
        ("pended", 0, (Reason.PENDED_NEAR_DUPLICATE,))
    ]


def test_a_partially_approved_claim_resubmitted_with_its_rejected_line_corrected_pays_that_line_only():
    usage = Usage()
    lines = [line(), line(tariff="1010", icd="S5", claimed="3000.00")]  # S5: not a well-formed ICD-10 code
    first = decide(claim(1, lines=lines), usage=usage)
    corrected = [line(), line(tariff="1010", icd="S52.5", claimed="3000.00")]
    again = decide(claim(2, lines=corrected), usage=usage)
    assert (first.status, first.lines[1].reasons) == ("partially_approved", (Reason.ICD10_INVALID,))
    assert again.reason_code == ""  # a correction, not a DUPLICATE_CLAIM
    assert [ld.reasons[-1] for ld in again.lines] == [Reason.DUPLICATE_LINE, Reason.PAID]
    assert again.totals[2] == D("3000.00")
    # Sent a third time unchanged, the corrected claim is a whole resubmission.
    assert decide(claim(3, lines=corrected), usage=usage).reason_code == Reason.DUPLICATE_CLAIM


# --- through the engine, on rows ---------------------------------------------------------------------


@pytest.fixture
def scheme(db):
    TariffCodeFactory()
    TariffCodeFactory(code="1010", description="Admission", benefit_code="HOSPITAL", unit_price=D("3000.00"))
    plan = PlanFactory(benefits={"GP": {}, "HOSPITAL": {"requires_preauth": True}})
    return MemberFactory(plan=plan), ProviderFactory().practice_number


def decided(claim_row):
    claim_row.refresh_from_db()
    return claim_row.status, [
        (line.outcome, line.benefit_amount, line.reason_codes) for line in claim_row.lines.order_by("line_number")
    ]


@pytest.mark.django_db
def test_the_engine_draws_a_preauthorisation_down_across_claims_and_runs(scheme):
    member, practice = scheme
    preauth = PreAuthorisationFactory(member=member, tariff_code="1010", authorised_amount=D("3000.00"))
    yesterday = timezone.localdate() - timedelta(days=1)
    admissions = [
        ClaimFactory(
            member=member,
            practice_number=practice,
            service_date=yesterday - timedelta(days=days),
            lines=[{"tariff_code": "1010", "icd10_codes": "S52.5", "claimed_amount": D(amount)}],
        )
        for days, amount in ((3, "2000.00"), (2, "2000.00"), (1, "2000.00"))
    ]
    adjudicate_claims([admissions[0].id])  # a run of its own: the next one must find what it drew
    adjudicate_claims([c.id for c in admissions[1:]])
    assert [decided(c) for c in admissions] == [
        ("approved", [("approved", D("2000.00"), "PAID")]),
        ("partially_approved", [("partial", D("1000.00"), "PREAUTH_LIMIT_APPLIED")]),
        ("rejected", [("rejected", D("0.00"), "PREAUTH_LIMIT_APPLIED")]),
    ]
    drawn = list(BenefitLedger.objects.filter(preauth=preauth).order_by("id").values_list("amount", flat=True))
    assert drawn == [D("2000.00"), D("1000.00")]


@pytest.mark.django_db
def test_the_engine_finds_lines_paid_on_earlier_claims_and_pays_a_corrected_resubmission(scheme):
    member, practice = scheme
    PreAuthorisationFactory(member=member, tariff_code="1010")
    sent = dict(member=member, practice_number=practice)
    first = ClaimFactory(**sent, lines=[{}, {"tariff_code": "1010", "icd10_codes": "S5"}])
    adjudicate_claims([first.id])
    billed_again = ClaimFactory(**sent, lines=[{"claimed_amount": D("350.00")}])
    corrected = ClaimFactory(**sent, lines=[{}, {"tariff_code": "1010", "icd10_codes": "S52.5"}])
    twice = ClaimFactory(**sent, service_date=first.service_date - timedelta(days=1), lines=[{}, {}])
    adjudicate_claims([billed_again.id, corrected.id, twice.id])
    assert decided(first)[0] == "partially_approved"
    assert decided(billed_again) == ("rejected", [("rejected", D("0.00"), "DUPLICATE_LINE")])
    assert decided(corrected) == (
        "partially_approved",
        [("rejected", D("0.00"), "DUPLICATE_LINE"), ("approved", D("3000.00"), "PAID")],
    )
    assert decided(twice) == (
        "partially_approved",
        [("approved", D("400.00"), "PAID"), ("rejected", D("0.00"), "DUPLICATE_LINE")],
    )
    assert corrected.reason_code == "" and not Claim.objects.filter(reason_code=Reason.DUPLICATE_CLAIM).exists()
    assert ClaimLine.objects.filter(reason_codes="DUPLICATE_LINE", ledger_entries__isnull=False).count() == 0


@pytest.mark.django_db
def test_the_duplicate_line_check_is_one_query_per_call_however_many_claims(scheme):
    member, practice = scheme

    days = iter(range(1, 100))

    def queries_to_decide(count):
        # Each claim on its own day: its first line pays, its second is a DUPLICATE_LINE of the first.
        claims = [
            ClaimFactory(
                member=member,
                practice_number=practice,
                lines=[{}, {}],
                service_date=timezone.localdate() - timedelta(days=next(days)),
            )
            for _ in range(count)
        ]
        with CaptureQueriesContext(connection) as captured:
            adjudicate_claims([c.id for c in claims])
        return len(captured)

    queries_to_decide(1)  # the first run warms the reference cache
    assert queries_to_decide(1) == queries_to_decide(12)
    assert ClaimLine.objects.filter(reason_codes="DUPLICATE_LINE").count() == 14


@pytest.mark.django_db
def test_the_admin_shows_what_was_paid_against_a_preauthorisation(admin_client, scheme):
    member, practice = scheme
    preauth = PreAuthorisationFactory(member=member, tariff_code="1010", authorised_amount=D("5000.00"))
    admission = ClaimFactory(
        member=member, practice_number=practice, lines=[{"tariff_code": "1010", "icd10_codes": "S52.5"}]
    )
    adjudicate_claims([admission.id])
    page = admin_client.get(f"/admin/claims/preauthorisation/?q={preauth.reference}").content.decode()
    assert '<td class="field-drawn">3000.00</td>' in page
    ledger = admin_client.get(f"/admin/claims/benefitledger/?q={preauth.reference}").content.decode()
    assert admission.claim_number in ledger
