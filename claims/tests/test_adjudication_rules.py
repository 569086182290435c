"""Every rule and reason code of claims/adjudication/rules.py, on plain data (no database)."""

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from claims.adjudication.reasons import CLAIM_LEVEL, DESCRIPTIONS, Reason
from claims.adjudication.rules import (
    Benefit,
    ClaimIn,
    LineIn,
    MemberInfo,
    PreAuth,
    Reference,
    Tariff,
    Usage,
    WaitingPeriod,
    adjudicate_claim,
    adjudicate_family,
)

SERVICE = date(2026, 3, 10)
RECEIVED = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
PRINCIPAL, SPOUSE, PLAN = 1, 2, 10


def reference(**changes) -> Reference:
    ref = Reference(
        providers={"1234567": "active", "7654321": "suspended"},
        members={
            PRINCIPAL: MemberInfo(PRINCIPAL, PRINCIPAL, PLAN, "active", date(2020, 1, 1), date(2020, 1, 1), None),
            SPOUSE: MemberInfo(SPOUSE, PRINCIPAL, PLAN, "active", date(2020, 1, 1), date(2020, 1, 1), None),
        },
        benefits={
            PLAN: {
                "GP": Benefit("GP", D("1000.00"), D("1500.00"), D("10"), None, False),
                "HOSPITAL": Benefit("HOSPITAL", None, None, D("0"), D("5000.00"), True),
            }
        },
        tariffs={
            "0190": [Tariff(date(2020, 1, 1), None, D("400.00"), "GP")],
            "0191": [Tariff(date(2020, 1, 1), date(2025, 12, 31), D("300.00"), "GP")],
            "1010": [Tariff(date(2020, 1, 1), None, D("3000.00"), "HOSPITAL")],
            "8001": [Tariff(date(2020, 1, 1), None, D("900.00"), "OPTICAL")],
        },
        waiting_periods={},
        preauths={PRINCIPAL: [PreAuth("", "1010", "", D("6000.00"), date(2026, 1, 1), date(2026, 12, 31))]},
    )
    for name, value in changes.items():
        setattr(ref, name, value)
    return ref


def claim(
    claim_id=1, member=PRINCIPAL, practice="1234567", service=SERVICE, received=RECEIVED, lines=None, number=None
):
    lines = lines if lines is not None else [line()]
    return ClaimIn(claim_id, number or f"C{claim_id:04d}", member, practice, service, received, tuple(lines))


_line_ids = iter(range(1, 10**6))


def line(tariff="0190", icd="J06.9", quantity=1, claimed="400.00") -> LineIn:
    return LineIn(next(_line_ids), tariff, icd, quantity, D(claimed))


def decide(c, ref=None, usage=None):
    return adjudicate_claim(c, ref or reference(), usage or Usage())


def reasons_of(decision):
    return [reason for line_decision in decision.lines for reason in line_decision.reasons]


# --- claim level ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"practice": "0000000"}, Reason.PROVIDER_UNKNOWN),
        ({"practice": "7654321"}, Reason.PROVIDER_SUSPENDED),
        ({"member": 99}, Reason.MEMBER_NOT_ACTIVE),
        ({"service": date(2026, 3, 13)}, Reason.SERVICE_DATE_IN_FUTURE),
        ({"service": date(2025, 11, 11)}, Reason.CLAIM_WINDOW_EXPIRED),  # 121 days before receipt
        ({"lines": []}, Reason.NO_LINES),
    ],
)
def test_it_rejects_the_whole_claim(changes, reason):
    decision = decide(claim(**changes))
    assert (decision.status, decision.reason_code) == ("rejected", reason)
    assert all(ld.outcome == "rejected" and ld.benefit == 0 for ld in decision.lines)


def test_it_accepts_codes_of_the_u_chapter():
    assert decide(claim(lines=[line(icd="U07.1")])).status == "approved"


def test_it_accepts_a_claim_120_days_after_the_service_date():
    assert decide(claim(service=date(2025, 11, 12))).status == "approved"


def test_it_rejects_a_member_suspended_on_the_service_date_but_not_before():
    suspended = replace(reference().members[PRINCIPAL], status="suspended", status_since=date(2026, 3, 1))
    ref = reference(members={PRINCIPAL: suspended})
    assert decide(claim(), ref).reason_code == Reason.MEMBER_NOT_ACTIVE
    assert decide(claim(service=date(2026, 2, 27)), ref).status == "approved"


def test_it_rejects_outside_cover_dates():
    ended = replace(reference().members[PRINCIPAL], cover_end=date(2026, 2, 28))
    assert decide(claim(), reference(members={PRINCIPAL: ended})).reason_code == Reason.NO_COVER
    late = replace(reference().members[PRINCIPAL], cover_start=date(2026, 3, 11))
    assert decide(claim(), reference(members={PRINCIPAL: late})).reason_code == Reason.NO_COVER


def test_it_rejects_a_duplicate_of_an_accepted_claim_but_not_of_a_rejected_one():
    usage = Usage()
    first = decide(claim(1, lines=[line(claimed="400.00")]), usage=usage)
    again = decide(claim(2, lines=[line(claimed="400.00")]), usage=usage)
    assert (first.status, again.reason_code) == ("approved", Reason.DUPLICATE_CLAIM)
    other_amount = decide(claim(3, lines=[line(claimed="350.00")]), usage=usage)
    # Not the same claim, but the same service billed again (issue 13): the line is the duplicate.
    assert (other_amount.reason_code, other_amount.lines[0].reasons) == ("", (Reason.DUPLICATE_LINE,))

    usage = Usage()
    assert decide(claim(4, practice="0000000"), usage=usage).status == "rejected"
    assert decide(claim(5, practice="0000000", received=RECEIVED), usage=usage).reason_code != Reason.DUPLICATE_CLAIM


def test_claim_rules_apply_in_order_provider_first():
    # Unknown provider AND a future service date AND no lines: the provider rule speaks first.
    decision = decide(claim(practice="0000000", service=date(2026, 4, 1), lines=[]))
    assert decision.reason_code == Reason.PROVIDER_UNKNOWN


# --- line level ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("the_line", "reason"),
    [
        (dict(tariff="9999"), Reason.TARIFF_UNKNOWN),
        (dict(tariff="0191"), Reason.TARIFF_NOT_VALID),  # valid until 2025-12-31
        (dict(tariff="8001"), Reason.BENEFIT_NOT_ON_PLAN),
        (dict(icd="XYZ"), Reason.ICD10_INVALID),
        (dict(icd=""), Reason.ICD10_INVALID),
        (dict(icd="J06.9,123"), Reason.ICD10_INVALID),  # every code must be well formed
    ],
)
def test_it_rejects_a_line(the_line, reason):
    decision = decide(claim(lines=[line(**the_line)]))
    assert decision.lines[0].outcome == "rejected"
    assert decision.lines[0].reasons == (reason,)
    assert decision.status == "rejected" and decision.reason_code == ""


@pytest.mark.parametrize(
    ("period", "icd", "reason"),
    [
        (WaitingPeriod("general", "", "", date(2026, 1, 1), date(2026, 3, 31)), "J06.9", Reason.WAITING_PERIOD_GENERAL),
        (
            WaitingPeriod("condition", "E11", "", date(2026, 1, 1), date(2026, 12, 31)),
            "E11.9",
            Reason.WAITING_PERIOD_CONDITION,
        ),
        (
            WaitingPeriod("category", "", "GP", date(2026, 1, 1), date(2026, 12, 31)),
            "J06.9",
            Reason.WAITING_PERIOD_CATEGORY,
        ),
    ],
)
def test_it_rejects_a_line_in_a_waiting_period(period, icd, reason):
    ref = reference(waiting_periods={PRINCIPAL: [period]})
    assert decide(claim(lines=[line(icd=icd)]), ref).lines[0].reasons == (reason,)


def test_a_waiting_period_for_another_condition_or_after_it_ended_does_not_apply():
    periods = [
        WaitingPeriod("condition", "E11", "", date(2026, 1, 1), date(2026, 12, 31)),
        WaitingPeriod("general", "", "", date(2025, 1, 1), date(2025, 3, 31)),
    ]
    assert (
        decide(claim(lines=[line(icd="J06.9")]), reference(waiting_periods={PRINCIPAL: periods})).status == "approved"
    )


@pytest.mark.parametrize(
    ("preauths", "claimed", "reason"),
    [
        ([], "3000.00", Reason.PREAUTH_MISSING),
        (
            [PreAuth("", "1010", "", D("6000.00"), date(2025, 1, 1), date(2025, 12, 31))],
            "3000.00",
            Reason.PREAUTH_EXPIRED,
        ),
        (
            [PreAuth("1111111", "1010", "", D("6000.00"), date(2026, 1, 1), date(2026, 12, 31))],
            "3000.00",
            Reason.PREAUTH_MISSING,
        ),  # authorised for another provider
    ],
)
def test_it_rejects_a_line_that_needs_a_preauthorisation(preauths, claimed, reason):
    ref = reference(preauths={PRINCIPAL: preauths})
    assert decide(claim(lines=[line(tariff="1010", icd="S52.5", claimed=claimed)]), ref).lines[0].reasons == (reason,)


def test_a_category_wide_preauthorisation_covers_any_code_of_that_category():
    ref = reference(
        preauths={PRINCIPAL: [PreAuth("", "", "HOSPITAL", D("5000"), date(2026, 1, 1), date(2026, 12, 31))]}
    )
    assert decide(claim(lines=[line(tariff="1010", icd="S52.5", claimed="3000.00")]), ref).status == "approved"


def test_line_rules_apply_in_order_and_stop_at_the_first_failure():
    # Bad ICD-10 and a general waiting period: the ICD-10 rule comes first.
    ref = reference(
        waiting_periods={PRINCIPAL: [WaitingPeriod("general", "", "", date(2026, 1, 1), date(2026, 12, 31))]}
    )
    assert decide(claim(lines=[line(icd="nonsense")]), ref).lines[0].reasons == (Reason.ICD10_INVALID,)


# --- amounts -------------------------------------------------------------------------------------


def test_it_pays_the_tariff_rate_less_the_copayment():
    decision = decide(claim(lines=[line(quantity=2, claimed="1000.00")]))  # tariff 400 x 2 = 800
    ld = decision.lines[0]
    assert (ld.eligible, ld.copay, ld.benefit) == (D("800.00"), D("80.00"), D("720.00"))
    assert ld.reasons == (Reason.TARIFF_RATE_APPLIED, Reason.COPAY_APPLIED, Reason.PAID)
    assert decision.status == "approved"


def test_it_caps_a_benefit_per_event():
    ref = reference(preauths={PRINCIPAL: [PreAuth("", "1010", "", D("9000"), date(2026, 1, 1), date(2026, 12, 31))]})
    decision = decide(claim(lines=[line(tariff="1010", icd="S52.5", quantity=2, claimed="6000.00")]), ref)
    ld = decision.lines[0]
    assert (ld.eligible, ld.benefit, ld.outcome) == (D("6000.00"), D("5000.00"), "partial")
    assert Reason.EVENT_CAP_APPLIED in ld.reasons
    assert decision.status == "partially_approved"


def test_it_pays_partly_when_the_member_limit_runs_out_then_rejects():
    usage = Usage()
    # GP: member limit 1000; each line pays 360 (tariff 400 less 10 %). A visit a day: not duplicates.
    decisions = [decide(claim(n, service=date(2026, 3, n), lines=[line()]), usage=usage) for n in range(1, 5)]
    paid = [d.lines[0].benefit for d in decisions]
    assert paid == [D("360.00"), D("360.00"), D("280.00"), D("0.00")]
    assert [d.status for d in decisions] == ["approved", "approved", "partially_approved", "rejected"]
    assert Reason.MEMBER_LIMIT_REACHED in decisions[2].lines[0].reasons
    assert decisions[3].lines[0].reasons[-1] == Reason.MEMBER_LIMIT_REACHED


def test_a_family_shares_its_limit_between_members():
    usage = Usage()
    # Family limit 1500: the principal uses 1000 (his member limit), the spouse gets only 500.
    principal = [decide(claim(n, lines=[line(quantity=3, claimed="1200.00", icd=f"J0{n}")]), usage=usage) for n in (1,)]
    spouse = decide(claim(2, member=SPOUSE, lines=[line(quantity=2, claimed="800.00")]), usage=usage)
    assert principal[0].lines[0].benefit == D("1000.00")
    assert spouse.lines[0].benefit == D("500.00")
    assert Reason.FAMILY_LIMIT_REACHED in spouse.lines[0].reasons
    assert usage.family[(PRINCIPAL, "GP", 2026)] == D("1500.00")


def test_a_family_is_decided_in_service_date_then_receipt_then_number_order_whatever_the_input_order():
    early = claim(1, service=date(2026, 3, 1), lines=[line(quantity=3, claimed="1200.00")], number="B")
    late = claim(2, service=date(2026, 3, 5), lines=[line(quantity=3, claimed="1200.00", icd="J07")], number="A")
    one = adjudicate_family([late, early], reference(), Usage())
    two = adjudicate_family([early, late], reference(), Usage())
    assert [(d.claim_id, d.lines[0].benefit) for d in one] == [(d.claim_id, d.lines[0].benefit) for d in two]
    assert one[0].claim_id == 1 and one[0].lines[0].benefit == D("1000.00")


def test_the_claim_status_follows_its_lines():
    decision = decide(claim(lines=[line(), line(tariff="9999")]))
    assert [ld.outcome for ld in decision.lines] == ["approved", "rejected"]
    assert decision.status == "partially_approved"


def test_every_reason_code_is_described_in_plain_words():
    assert set(DESCRIPTIONS) == set(Reason)
    assert set(CLAIM_LEVEL) < set(Reason)
