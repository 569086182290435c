"""Writes of the reports app: generate (or regenerate) one day's report, e-mail it."""

from __future__ import annotations

import logging
import time
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from reports.models import DailyReport
from reports.selectors import report_figures

logger = logging.getLogger(__name__)


def daily_report_generate(*, day: date) -> DailyReport:
    """Summarise `day` into its DailyReport; a second run for the same day replaces the first, never adds one."""
    started = time.perf_counter()
    figures = report_figures(day=day)
    totals, outcomes = figures["totals"], figures["outcomes"]
    fields = {
        "generated_at": timezone.now(),
        "claims_received": figures["received"]["claims"],
        "claims_decided": totals["claims"],
        "approved": outcomes["approved"]["claims"],
        "partially_approved": outcomes["partially_approved"]["claims"],
        "rejected": outcomes["rejected"]["claims"],
        "submitted_total": Decimal(totals["submitted"]),
        "eligible_total": Decimal(totals["eligible"]),
        "copay_total": Decimal(totals["copay"]),
        "benefit_total": Decimal(totals["benefit"]),
        "avg_decision_seconds": figures["decision_time"]["average_s"],
        "p95_decision_seconds": figures["decision_time"]["p95_s"],
        "bulk_jobs": figures["bulk_jobs"]["jobs"],
        "content": figures,
        "generation_ms": round((time.perf_counter() - started) * 1000),
    }
    with transaction.atomic():
        # update_or_create locks the day's row (SELECT ... FOR UPDATE) and the unique day settles a race.
        report, created = DailyReport.objects.update_or_create(day=day, defaults=fields)
    logger.info("daily report %s %s in %s ms", day, "generated" if created else "regenerated", fields["generation_ms"])
    return report
