"""The seed's `generate_daily_reports`, re-exported by core/tasks.py under its public name."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone


def parse_day(report_date: str | None) -> date:
    """An ISO date; None = yesterday (UTC), the day the 06:00 run summarises."""
    if report_date is None:
        return timezone.now().date() - timedelta(days=1)
    return date.fromisoformat(report_date)


@shared_task(name="core.tasks.generate_daily_reports", soft_time_limit=300, time_limit=360)
def generate_daily_reports(report_date: str | None = None) -> dict:
    """Daily 06:00 UTC: summarise yesterday's claims (or `report_date`, YYYY-MM-DD) and e-mail the report."""
    from reports.services import daily_report_publish

    report, emails = daily_report_publish(day=parse_day(report_date))
    return {
        "report_id": report.id,
        "day": report.day.isoformat(),
        "claims_decided": report.claims_decided,
        "claims_received": report.claims_received,
        "generation_ms": report.generation_ms,
        "emails": emails,
    }
