"""A daily report as CSV: one table of (section, group, measure, value) rows, for spreadsheets."""

from __future__ import annotations

import csv
import io

from reports.models import DailyReport

HEADER = ("section", "group", "measure", "value")


def report_csv(*, report: DailyReport) -> str:
    """The whole report, every figure on its own row (opens with the csv module and any spreadsheet)."""
    figures = report.content
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerow(("report", "", "day", figures.get("day", report.day.isoformat())))
    writer.writerow(("report", "", "generated_at", report.generated_at.isoformat()))
    for measure, value in figures.get("received", {}).items():
        writer.writerow(("received", "", measure, value))
    _group(writer, "all", "", figures)
    for plan in figures.get("plans", []):
        _group(writer, "plan", plan["plan"], plan)
    for discipline in figures.get("disciplines", []):
        _group(writer, "discipline", discipline["label"], discipline)
    for rank, provider in enumerate(figures.get("top_providers", []), start=1):
        group = f"{rank}. {provider['practice_number']} {provider['name']}".strip()
        writer.writerow(("top providers", group, "claims", provider["claims"]))
        writer.writerow(("top providers", group, "benefit", provider["benefit"]))
    for measure, value in figures.get("decision_time", {}).items():
        writer.writerow(("decision time", "", measure, "" if value is None else value))
    for measure, value in figures.get("bulk_jobs", {}).items():
        writer.writerow(("bulk jobs", "", measure, value))
    return out.getvalue()


def _group(writer, section: str, group: str, figures: dict) -> None:
    for measure, value in figures["totals"].items():
        writer.writerow((section, group, f"total {measure}", value))
    for outcome, values in figures["outcomes"].items():
        for measure, value in values.items():
            writer.writerow((section, group, f"{outcome} {measure}", value))
    for reason in figures["rejection_reasons"]:
        writer.writerow((section, group, f"rejected lines: {reason['reasons']}", reason["lines"]))


def report_filename(*, report: DailyReport) -> str:
    return f"claims-report-{report.day.isoformat()}.csv"
