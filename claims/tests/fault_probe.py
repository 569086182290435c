"""What the fault tests run in the private system's own processes (`python -m claims.tests.fault_probe ...`).

The test process's Django database is pytest-django's, not the private one, so every look at or
action on the private system is a subprocess with an explicit environment (DATABASE_URL, broker...):

    start-job            every pending claim into one bulk job, as a user would: `process_bulk_claims.delay(ids)`
                         inside a transaction (the job is published when it commits); prints {"claims": n}
    decide               the undisturbed reference: the same call made directly in this one process, every
                         task run eagerly in it (no broker, no worker); prints the job's summary
    fast-schedules S     the beat rows sweep_bulk_jobs and requeue_overdue_notifications every S seconds
    snapshot             JSON: every decision, line, ledger entry, job row and decision e-mail row
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter, defaultdict


def start_job() -> dict:
    from django.db import transaction

    from claims.models import Claim
    from core.tasks import process_bulk_claims

    ids = list(Claim.objects.filter(status=Claim.Status.PENDING).order_by("id").values_list("id", flat=True))
    with transaction.atomic():
        process_bulk_claims.delay(ids)
    return {"claims": len(ids)}


def decide() -> dict:
    from backend.celery import app
    from claims.models import Claim
    from core.tasks import process_bulk_claims

    # One process, no broker: whatever the job hands to other tasks (chunks, e-mails) runs right here.
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    ids = list(Claim.objects.filter(status=Claim.Status.PENDING).order_by("id").values_list("id", flat=True))
    summary = process_bulk_claims(ids)
    pending = Claim.objects.filter(status=Claim.Status.PENDING).count()
    if pending:
        raise SystemExit(f"the undisturbed reference left {pending} claims pending: {summary}")
    return summary


def fast_schedules(seconds: int) -> dict:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    names = ("sweep_bulk_jobs", "requeue_overdue_notifications")
    changed = PeriodicTask.objects.filter(name__in=names).update(interval=every, crontab=None, enabled=True)
    PeriodicTasks.update_changed()
    return {
        "rows": changed,
        "present": sorted(PeriodicTask.objects.filter(name__in=names).values_list("name", flat=True)),
    }


def snapshot() -> dict:
    from django.db.models import Count, Sum

    from claims.models import BenefitLedger, BulkClaimJob, Claim, ClaimLine
    from notifications.models import Notification

    claims = {
        number: [status, reason, str(eligible), str(copay), str(benefit)]
        for number, status, reason, eligible, copay, benefit in Claim.objects.values_list(
            "claim_number", "status", "reason_code", "total_eligible", "total_copay", "total_benefit"
        )
    }
    lines = {
        f"{number}#{line}": [outcome, str(eligible), str(copay), str(benefit), reasons]
        for number, line, outcome, eligible, copay, benefit, reasons in ClaimLine.objects.values_list(
            "claim__claim_number",
            "line_number",
            "outcome",
            "eligible_amount",
            "copay_amount",
            "benefit_amount",
            "reason_codes",
        )
    }
    ledger = defaultdict(list)
    for number, line, amount in BenefitLedger.objects.values_list(
        "claim_line__claim__claim_number", "claim_line__line_number", "amount"
    ):
        ledger[f"{number}#{line}"].append(str(amount))
    job_fields = [f.name for f in BulkClaimJob._meta.concrete_fields if f.name != "claim_ids"]
    jobs = [
        {key: (value if isinstance(value, int | str | type(None)) else str(value)) for key, value in row.items()}
        for row in BulkClaimJob.objects.order_by("id").values(*job_fields)
    ]
    decision_rows = Notification.objects.filter(template=Notification.Template.CLAIM_DECISION)
    emails = defaultdict(list)  # claim number -> statuses of its decision e-mail rows
    for number, status in decision_rows.values_list("claim__claim_number", "status"):
        emails[number].append(status)
    return {
        "claims": claims,
        "lines": lines,
        "ledger": ledger,
        "sums": {
            "line_benefit": str(ClaimLine.objects.aggregate(s=Sum("benefit_amount"))["s"] or 0),
            "claim_benefit": str(Claim.objects.aggregate(s=Sum("total_benefit"))["s"] or 0),
            "ledger": str(BenefitLedger.objects.aggregate(s=Sum("amount"))["s"] or 0),
            "lines_with_benefit": ClaimLine.objects.filter(benefit_amount__gt=0).count(),
            "ledger_entries": BenefitLedger.objects.count(),
            "ledger_lines_twice": BenefitLedger.objects.values("claim_line")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .count(),
        },
        "pending": Claim.objects.filter(status=Claim.Status.PENDING).count(),
        "jobs": jobs,
        "emails": emails,
        "notifications_by_status": dict(Counter(Notification.objects.values_list("status", flat=True))),
    }


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    command = argv[0] if argv else ""
    if command == "start-job":
        result = start_job()
    elif command == "decide":
        result = decide()
    elif command == "fast-schedules":
        result = fast_schedules(int(argv[1]))
    elif command == "snapshot":
        result = snapshot()
    else:
        raise SystemExit(__doc__)
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
