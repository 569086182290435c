"""Writes of the reports app: generate (or regenerate) one day's report, e-mail it."""

from __future__ import annotations

import logging
import time
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reports.export import report_csv, report_filename
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
        "pended": outcomes["pended"]["claims"],
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


def daily_report_email(*, report: DailyReport) -> int:
    """E-mail the report, CSV attached, to each of REPORT_RECIPIENTS once per day; returns how many e-mails exist.

    The idempotency key is the day and the address, so regenerating a report (or a redelivered task)
    never e-mails it twice; the notifications app sends after commit, with its own retries.
    """
    from notifications.privacy import NotificationRejected, mask_email
    from notifications.services import notification_create

    day = report.day.isoformat()
    attachment = (report_filename(report=report), report_csv(report=report), "text/csv")
    sent = 0
    for recipient in settings.REPORT_RECIPIENTS:
        try:
            notification_create(
                recipient=recipient,
                subject=f"Daily claims report {day}",
                body=report_text(report=report),
                template="daily_report",
                attachments=[attachment],
                idempotency_key=f"daily-report:{day}:{recipient}",
            )
            sent += 1
        except NotificationRejected as refused:  # a bad address in the setting must not stop the others
            logger.warning("daily report %s: recipient %s refused: %s", day, mask_email(recipient), refused)
    return sent


def daily_report_publish(*, day: date) -> tuple[DailyReport, int]:
    """What the 06:00 task does: generate (or regenerate) the day's report and e-mail it."""
    report = daily_report_generate(day=day)
    return report, daily_report_email(report=report)


def report_text(*, report: DailyReport) -> str:
    """The e-mail's plain-text body: the headline figures; the CSV attached has every figure."""
    figures = report.content
    lines = [
        f"Claims report for {report.day} (UTC)",
        "",
        f"Received: {report.claims_received} claims, {figures['received']['submitted']} submitted",
        f"Decided: {report.claims_decided} claims: {report.approved} approved, "
        f"{report.partially_approved} partially approved, {report.rejected} rejected, "
        f"{report.pended} pended for an assessor",
        f"Submitted {report.submitted_total}, eligible {report.eligible_total}, co-payment {report.copay_total}, "
        f"benefit {report.benefit_total}",
        f"Receipt to decision: average {_or_dash(report.avg_decision_seconds)} s, "
        f"95th percentile {_or_dash(report.p95_decision_seconds)} s",
        f"Bulk jobs: {report.bulk_jobs}",
        "",
        "Top rejection reasons (rejected lines):",
        *(f"  {r['reasons']}: {r['lines']}" for r in figures["rejection_reasons"]),
        "",
        "Every figure, per plan and per provider discipline, is in the attached CSV and in the admin.",
    ]
    return "\n".join(lines)


def _or_dash(value) -> str:
    return "-" if value is None else str(value)
