"""The daily claims report: every figure against values worked out by hand, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from claims.models import BulkClaimJob, Claim
from claims.tests.factories import ClaimFactory, MemberFactory, PlanFactory, ProviderFactory
from core.tasks import generate_daily_reports
from providers.models import Provider
from reports.export import report_csv
from reports.models import DailyReport
from reports.naive import report_figures_naive
from reports.selectors import report_figures
from reports.services import daily_report_generate

DAY = date(2026, 11, 30)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def make_claim(member, practice, received, decided, status, amounts, lines) -> Claim:
    """A claim as the adjudication leaves it: amounts (claimed, eligible, copay, benefit), lines (outcome, reasons, claimed)."""
    claim = ClaimFactory(
        member=member,
        practice_number=practice,
        lines=[{"outcome": o, "reason_codes": r, "claimed_amount": Decimal(c)} for o, r, c in lines],
    )
    claimed, eligible, copay, benefit = (Decimal(a) for a in amounts)
    assert claim.total_claimed == claimed
    Claim.objects.filter(pk=claim.pk).update(
        received_at=received,
        decided_at=decided,
        status=status,
        total_eligible=eligible,
        total_copay=copay,
        total_benefit=benefit,
    )
    return claim


@pytest.fixture
def day_of_claims(db):
    """Seven claims around DAY; the expected figures below are worked out from them by hand."""
    classic = PlanFactory(name="Classic", year=2026)
    saver = PlanFactory(name="Saver", year=2026)
    on_classic, on_saver = MemberFactory(plan=classic), MemberFactory(plan=saver)
    gp = ProviderFactory(practice_number="0100001", name="Dr A. GP", discipline=Provider.Discipline.GP)
    specialist = ProviderFactory(
        practice_number="0200002", name="Dr B. Specialist", discipline=Provider.Discipline.SPECIALIST
    )
    d0, before, after = DAY, DAY - timedelta(days=1), DAY + timedelta(days=1)
    # decided on DAY: 600 s, 7,200 s (received the day before), 40 s, 3,600 s
    make_claim(
        on_classic,
        gp.practice_number,
        at(d0, 8),
        at(d0, 8, 10),
        "approved",
        ("400", "400", "0", "400"),
        [("approved", "PAID", "400")],
    )
    make_claim(
        on_classic,
        specialist.practice_number,
        at(before, 23),
        at(d0, 1),
        "partially_approved",
        ("1000", "800", "80", "720"),
        [("approved", "COPAY_APPLIED", "800"), ("rejected", "TARIFF_UNKNOWN", "200")],
    )
    make_claim(
        on_saver,
        gp.practice_number,
        at(d0, 10),
        at(d0, 10, 0, 40),
        "rejected",
        ("250", "0", "0", "0"),
        [("rejected", "MEMBER_NOT_ACTIVE", "150"), ("rejected", "MEMBER_NOT_ACTIVE", "100")],
    )
    make_claim(
        on_saver,
        "9999999",
        at(d0, 11),
        at(d0, 12),
        "rejected",
        ("100", "0", "0", "0"),
        [("rejected", "PROVIDER_UNKNOWN", "100")],
    )
    # received on DAY, not decided; decided at the first instant of the next day; received at the last second of DAY
    make_claim(
        on_classic, gp.practice_number, at(d0, 20), None, "pending", ("300", "0", "0", "0"), [("pending", "", "300")]
    )
    make_claim(
        on_classic,
        gp.practice_number,
        at(before, 9),
        at(after, 0),
        "approved",
        ("500", "500", "0", "500"),
        [("approved", "PAID", "500")],
    )
    make_claim(
        on_classic,
        gp.practice_number,
        at(d0, 23, 59, 59),
        None,
        "pending",
        ("50", "0", "0", "0"),
        [("pending", "", "50")],
    )
    BulkClaimJob.objects.filter(pk=BulkClaimJob.objects.create(total=3).pk).update(created_at=at(d0, 9))
    BulkClaimJob.objects.filter(pk=BulkClaimJob.objects.create(total=7).pk).update(created_at=at(before, 9))
    return {"classic": classic, "saver": saver}


def money(claims, submitted, eligible, copay, benefit) -> dict:
    return {"claims": claims, "submitted": submitted, "eligible": eligible, "copay": copay, "benefit": benefit}


NONE = money(0, "0.00", "0.00", "0.00", "0.00")


def test_every_figure_matches_the_hand_computed_values(day_of_claims):
    figures = report_figures(day=DAY)

    assert figures["day"] == "2026-11-30"
    assert figures["received"] == {"claims": 5, "submitted": "1100.00"}  # 400 + 250 + 100 + 300 + 50
    assert figures["totals"] == money(4, "1750.00", "1200.00", "80.00", "1120.00")
    assert figures["outcomes"] == {
        "approved": money(1, "400.00", "400.00", "0.00", "400.00"),
        "partially_approved": money(1, "1000.00", "800.00", "80.00", "720.00"),
        "rejected": money(2, "350.00", "0.00", "0.00", "0.00"),
        "pended": NONE,  # counted by claims/tests/test_assessor_queue.py
    }
    assert figures["rejection_reasons"] == [
        {"reasons": "MEMBER_NOT_ACTIVE", "lines": 2},
        {"reasons": "PROVIDER_UNKNOWN", "lines": 1},
        {"reasons": "TARIFF_UNKNOWN", "lines": 1},
    ]
    classic, saver = figures["plans"]
    assert (classic["plan"], saver["plan"]) == ("Classic 2026", "Saver 2026")
    assert classic["totals"] == money(2, "1400.00", "1200.00", "80.00", "1120.00")
    assert classic["outcomes"]["rejected"] == NONE
    assert classic["rejection_reasons"] == [{"reasons": "TARIFF_UNKNOWN", "lines": 1}]
    assert saver["totals"] == money(2, "350.00", "0.00", "0.00", "0.00")
    assert saver["rejection_reasons"] == [
        {"reasons": "MEMBER_NOT_ACTIVE", "lines": 2},
        {"reasons": "PROVIDER_UNKNOWN", "lines": 1},
    ]
    disciplines = {d["discipline"]: d for d in figures["disciplines"]}
    assert sorted(disciplines) == ["gp", "specialist", "unknown"]
    assert disciplines["gp"]["totals"] == money(2, "650.00", "400.00", "0.00", "400.00")
    assert disciplines["gp"]["outcomes"]["rejected"] == money(1, "250.00", "0.00", "0.00", "0.00")
    assert disciplines["gp"]["rejection_reasons"] == [{"reasons": "MEMBER_NOT_ACTIVE", "lines": 2}]
    assert disciplines["specialist"]["totals"] == money(1, "1000.00", "800.00", "80.00", "720.00")
    assert disciplines["unknown"]["label"] == "Not registered"
    assert disciplines["unknown"]["rejection_reasons"] == [{"reasons": "PROVIDER_UNKNOWN", "lines": 1}]
    assert figures["top_providers"] == [
        {
            "practice_number": "0200002",
            "name": "Dr B. Specialist",
            "discipline": "specialist",
            "claims": 1,
            "benefit": "720.00",
        },
        {"practice_number": "0100001", "name": "Dr A. GP", "discipline": "gp", "claims": 2, "benefit": "400.00"},
        {"practice_number": "9999999", "name": "", "discipline": "unknown", "claims": 1, "benefit": "0.00"},
    ]
    # (600 + 7,200 + 40 + 3,600) / 4 = 2,860 s; nearest rank ceil(0.95 x 4) = 4th of 4 = 7,200 s
    assert figures["decision_time"] == {"average_s": 2860, "p95_s": 7200}
    assert figures["bulk_jobs"] == {"jobs": 1, "claims": 3}


def test_the_naive_baseline_gives_the_same_figures(day_of_claims):
    assert report_figures_naive(day=DAY) == report_figures(day=DAY)


def test_the_report_row_carries_the_headline_figures(day_of_claims):
    report = daily_report_generate(day=DAY)
    assert (report.claims_received, report.claims_decided) == (5, 4)
    assert (report.approved, report.partially_approved, report.rejected) == (1, 1, 2)
    assert (report.submitted_total, report.eligible_total, report.copay_total, report.benefit_total) == (
        Decimal("1750.00"),
        Decimal("1200.00"),
        Decimal("80.00"),
        Decimal("1120.00"),
    )
    assert (report.avg_decision_seconds, report.p95_decision_seconds, report.bulk_jobs) == (2860, 7200, 1)
    report.refresh_from_db()
    assert report.content == report_figures(day=DAY)  # JSON round trip keeps every figure


def test_regenerating_a_day_replaces_its_report(day_of_claims):
    first = daily_report_generate(day=DAY)
    Claim.objects.filter(status="pending").update(status="approved", decided_at=at(DAY, 21))
    second = daily_report_generate(day=DAY)
    assert DailyReport.objects.filter(day=DAY).count() == 1
    assert second.pk == first.pk
    assert DailyReport.objects.get(day=DAY).claims_decided == 6


@pytest.mark.django_db
def test_a_day_without_claims_gives_a_valid_empty_report():
    report = daily_report_generate(day=DAY)
    assert (report.claims_received, report.claims_decided, report.benefit_total) == (0, 0, Decimal("0"))
    assert report.content["outcomes"]["rejected"] == NONE
    assert report.content["plans"] == report.content["disciplines"] == report.content["top_providers"] == []
    assert report.content["decision_time"] == {"average_s": None, "p95_s": None}
    rows = list(csv.reader(io.StringIO(report_csv(report=report))))
    assert rows[0] == ["section", "group", "measure", "value"]
    assert ["all", "", "total claims", "0"] in rows


def test_the_csv_opens_with_the_csv_module_and_holds_the_figures(day_of_claims):
    rows = list(csv.DictReader(io.StringIO(report_csv(report=daily_report_generate(day=DAY)))))
    value = {(row["section"], row["group"], row["measure"]): row["value"] for row in rows}
    assert value[("report", "", "day")] == "2026-11-30"
    assert value[("received", "", "claims")] == "5"
    assert value[("all", "", "total benefit")] == "1120.00"
    assert value[("all", "", "partially_approved copay")] == "80.00"
    assert value[("all", "", "rejected lines: MEMBER_NOT_ACTIVE")] == "2"
    assert value[("plan", "Saver 2026", "rejected claims")] == "2"
    assert value[("discipline", "Specialist", "total eligible")] == "800.00"
    assert value[("top providers", "1. 0200002 Dr B. Specialist", "benefit")] == "720.00"
    assert value[("decision time", "", "p95_s")] == "7200"
    assert value[("bulk jobs", "", "jobs")] == "1"


def test_the_task_summarises_yesterday_by_default(day_of_claims):
    result = generate_daily_reports(report_date="2026-11-30")  # called directly, as the seed's examples do
    assert result["day"] == "2026-11-30" and result["claims_decided"] == 4
    yesterday = timezone.now().date() - timedelta(days=1)
    assert generate_daily_reports()["day"] == yesterday.isoformat()
    assert DailyReport.objects.filter(day=yesterday).exists()


@pytest.mark.django_db
def test_the_task_refuses_a_date_that_is_not_iso():
    with pytest.raises(ValueError):
        generate_daily_reports(report_date="30/11/2026")
