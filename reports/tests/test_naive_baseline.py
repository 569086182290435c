"""The report's baseline (reports/naive.py) gives the very report the fast path gives, on realistic data.

test_daily_report.py holds both to hand-computed figures on seven claims; here the demo scheme's claims,
decided by the engine, reach every outcome, many reason codes, plans, disciplines and more providers
than the top ten, over a day whose edges claims straddle, so cut-offs, ties and sums to the cent are
compared too. The comparison is of the whole report (every figure), after checking it is not trivial.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from claims.adjudication.engine import adjudicate_claims
from claims.demo import demo_data_seed
from claims.models import BulkClaimJob, Claim
from claims.tests.factories import ProviderFactory
from providers.models import Provider
from reports.naive import report_figures_naive
from reports.selectors import TOP_PROVIDERS, TOP_REASONS, day_bounds, report_figures

SEEDED_ON = date(2026, 11, 25)  # fixed, so the data does not change with the calendar
DAY = date(2026, 11, 30)

pytestmark = pytest.mark.django_db


def test_the_baseline_computes_exactly_the_fast_report_on_demo_data():
    demo_data_seed(members=60, claims=400, seed=11, today=SEEDED_ON)
    adjudicate_claims(Claim.objects.values_list("id", flat=True))
    # Received over about three days around DAY and decided 0-30 h later, so that the day holds claims
    # received the day before and claims received on it are decided the day after; a quarter of them move
    # to providers the demo lacks, so that more providers than the top ten compete, and some to none.
    extra = [ProviderFactory(discipline=discipline).practice_number for discipline in Provider.Discipline.values]
    start, end = day_bounds(DAY)
    # By position in claim-number order, not by id: ids differ from run to run on PostgreSQL.
    claims = list(Claim.objects.order_by("claim_number").only("id", "received_at", "practice_number"))
    for n, claim in enumerate(claims, start=1):
        claim.received_at = start - timedelta(hours=20) + timedelta(seconds=(n * 104729) % (64 * 3600))
        claim.decided_at = claim.received_at + timedelta(seconds=(n * 7919) % (30 * 3600))
        if n % 4 == 0:
            claim.practice_number = extra[n % len(extra)]
        elif n % 13 == 0:
            claim.practice_number = "9999999"  # in no registry: the "unknown" discipline
    Claim.objects.bulk_update(claims, ["received_at", "decided_at", "practice_number"])
    BulkClaimJob.objects.filter(pk=BulkClaimJob.objects.create(total=5).pk).update(created_at=start)
    BulkClaimJob.objects.filter(pk=BulkClaimJob.objects.create(total=9).pk).update(created_at=end)

    fast = report_figures(day=DAY)

    # The data reaches what the comparison must cover.
    assert fast["totals"]["claims"] >= 100 and fast["received"]["claims"] >= 100
    assert all(fast["outcomes"][status]["claims"] for status in ("approved", "partially_approved", "rejected"))
    assert len(fast["rejection_reasons"]) == TOP_REASONS
    assert len(fast["plans"]) >= 2 and "unknown" in {d["discipline"] for d in fast["disciplines"]}
    assert len(fast["top_providers"]) == TOP_PROVIDERS
    assert fast["decision_time"]["average_s"] != fast["decision_time"]["p95_s"]
    assert fast["bulk_jobs"] == {"jobs": 1, "claims": 5}
    assert report_figures_naive(day=DAY) == fast
