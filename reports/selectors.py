"""Reads behind the daily claims report: the figures of one UTC day, computed by the database.

Every figure is an aggregate or a GROUP BY through the ORM over the day's claims (found by the
`decided_at` / `received_at` indexes of reports' migration 0002); Python only rolls small grouped
rows up (providers into disciplines, plans into the total). `reports/naive.py` computes the same
rows by iterating claims in Python; both feed `figures_assemble`, so they agree to the cent, and the
tests hold them to it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, DurationField, ExpressionWrapper, F, Sum
from django.utils import timezone

from claims.models import BulkClaimJob, Claim, ClaimLine
from members.models import Plan
from providers.models import Provider

ZERO = Decimal("0.00")
# Pended claims (issue 13) are counted on the day the rules pended them, until an assessor decides them.
OUTCOMES = (Claim.Status.APPROVED, Claim.Status.PARTIALLY_APPROVED, Claim.Status.REJECTED, Claim.Status.PENDED)
AMOUNTS = ("submitted", "eligible", "copay", "benefit")
TOP_REASONS = 10
TOP_PROVIDERS = 10
UNKNOWN_DISCIPLINE = "unknown"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[00:00, next 00:00) of the UTC day."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def report_figures(*, day: date) -> dict:
    """Everything the daily report shows for `day`, as JSON-safe values (amounts as strings)."""
    start, end = day_bounds(day)
    decided = Claim.objects.filter(decided_at__gte=start, decided_at__lt=end).order_by()
    amounts = {
        "n": Count("id"),
        "submitted": Sum("total_claimed"),
        "eligible": Sum("total_eligible"),
        "copay": Sum("total_copay"),
        "benefit": Sum("total_benefit"),
    }
    # One GROUP BY each for claims and rejected lines, by plan x provider: the rows are few (plans x
    # practices x outcomes) and Python rolls them up four ways; two scans instead of four.
    claim_rows = decided.values_list("member__plan_id", "practice_number", "status").annotate(**amounts)
    reason_rows = (
        ClaimLine.objects.filter(
            claim__decided_at__gte=start, claim__decided_at__lt=end, outcome=ClaimLine.Outcome.REJECTED
        )
        .order_by()
        .values_list("claim__member__plan_id", "claim__practice_number", "reason_codes")
        .annotate(n=Count("id"))
    )
    received = Claim.objects.filter(received_at__gte=start, received_at__lt=end).aggregate(
        n=Count("id"), submitted=Sum("total_claimed")
    )
    jobs = BulkClaimJob.objects.filter(created_at__gte=start, created_at__lt=end).aggregate(
        n=Count("id"), claims=Sum("total")
    )
    return figures_assemble(
        day=day,
        claim_rows=list(claim_rows),
        reason_rows=list(reason_rows),
        received=(received["n"], received["submitted"] or ZERO),
        decision_seconds=_decision_seconds(decided),
        bulk_jobs=(jobs["n"], jobs["claims"] or 0),
    )


def _decision_seconds(decided) -> tuple[int | None, int | None]:
    """Average and 95th percentile (nearest rank) of receipt-to-decision, in whole seconds."""
    took = decided.annotate(took=ExpressionWrapper(F("decided_at") - F("received_at"), output_field=DurationField()))
    totals = took.aggregate(n=Count("id"), total=Sum("took"))  # Sum / n: Avg of an interval differs per database
    n = totals["n"]
    if not n:
        return None, None
    average = totals["total"] / n
    rank = math.ceil(0.95 * n)
    p95 = took.order_by("took").values_list("took", flat=True)[rank - 1]
    return _seconds(average), _seconds(p95)


def _seconds(value: timedelta) -> int:
    return max(0, round(value.total_seconds()))


def figures_assemble(
    *,
    day: date,
    claim_rows: list[tuple],
    reason_rows: list[tuple],
    received: tuple[int, Decimal],
    decision_seconds: tuple[int | None, int | None],
    bulk_jobs: tuple[int, int],
) -> dict:
    """Roll grouped rows up into the report.

    claim_rows: (plan id, practice number, status, claims, submitted, eligible, copay, benefit);
    reason_rows: (plan id, practice number, reason codes of a rejected line, lines).
    """
    registry = {number: (name, discipline) for number, name, discipline in _providers()}
    plans = dict(_plans())

    def discipline_of(number: str) -> str:
        return registry[number][1] if number in registry else UNKNOWN_DISCIPLINE

    overall = _Group()
    per_plan: dict[int, _Group] = defaultdict(_Group)
    per_discipline: dict[str, _Group] = defaultdict(_Group)
    per_provider: dict[str, _Group] = defaultdict(_Group)
    for plan_id, number, status, n, *sums in claim_rows:
        for group in (overall, per_plan[plan_id], per_discipline[discipline_of(number)], per_provider[number]):
            group.add(status, n, sums)
    for plan_id, number, reasons, n in reason_rows:
        for group in (overall, per_plan[plan_id], per_discipline[discipline_of(number)]):
            group.reasons[reasons] += n
    labels = dict(Provider.Discipline.choices) | {UNKNOWN_DISCIPLINE: "Not registered"}
    top = sorted(per_provider.items(), key=lambda item: (-item[1].totals["benefit"], item[0]))[:TOP_PROVIDERS]
    average, p95 = decision_seconds
    return {
        "day": day.isoformat(),
        "received": {"claims": received[0], "submitted": _money(received[1])},
        **overall.as_dict(),
        "plans": [
            {"plan_id": plan_id, "plan": plans.get(plan_id, f"plan {plan_id}"), **group.as_dict()}
            for plan_id, group in sorted(per_plan.items(), key=lambda item: plans.get(item[0], ""))
        ],
        "disciplines": [
            {"discipline": code, "label": labels.get(code, code), **group.as_dict()}
            for code, group in sorted(per_discipline.items())
        ],
        "top_providers": [
            {
                "practice_number": number,
                "name": registry.get(number, ("", ""))[0],
                "discipline": discipline_of(number),
                "claims": group.totals["claims"],
                "benefit": _money(group.totals["benefit"]),
            }
            for number, group in top
        ],
        "decision_time": {"average_s": average, "p95_s": p95},
        "bulk_jobs": {"jobs": bulk_jobs[0], "claims": bulk_jobs[1]},
    }


class _Group:
    """Counts and amounts by outcome, their totals, and rejected lines by reason codes."""

    def __init__(self):
        self.outcomes = {status: {"claims": 0, **dict.fromkeys(AMOUNTS, ZERO)} for status in OUTCOMES}
        self.totals = {"claims": 0, **dict.fromkeys(AMOUNTS, ZERO)}
        self.reasons: dict[str, int] = defaultdict(int)

    def add(self, status: str, n: int, sums) -> None:
        for target in (self.outcomes.setdefault(status, {"claims": 0, **dict.fromkeys(AMOUNTS, ZERO)}), self.totals):
            target["claims"] += n
            for name, value in zip(AMOUNTS, sums, strict=True):
                target[name] += value or ZERO

    def as_dict(self) -> dict:
        reasons = sorted(self.reasons.items(), key=lambda item: (-item[1], item[0]))[:TOP_REASONS]
        return {
            "totals": _money_values(self.totals),
            "outcomes": {status: _money_values(values) for status, values in self.outcomes.items()},
            "rejection_reasons": [{"reasons": codes or "-", "lines": n} for codes, n in reasons],
        }


def _money(value) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def _money_values(values: dict) -> dict:
    return {key: _money(value) if key in AMOUNTS else value for key, value in values.items()}


def _providers():
    return Provider.objects.values_list("practice_number", "name", "discipline")


def _plans():
    return ((plan_id, f"{name} {year}") for plan_id, name, year in Plan.objects.values_list("id", "name", "year"))


def reports_recent(*, days: int = 30, until: date | None = None):
    """The reports of the `days` days up to `until` (inclusive), oldest first: the outcome chart."""
    from reports.models import DailyReport

    until = until or timezone.now().date()
    return DailyReport.objects.filter(day__gt=until - timedelta(days=days), day__lte=until).order_by("day")
