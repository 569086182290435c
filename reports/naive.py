"""The naive baseline: the same report by iterating the day's claims in Python, one claim at a time.

What a first version would do (each claim's lines and provider read through the ORM as the loop
reaches them). bench/reports.py times it beside `report_figures`, and the tests require both to give
identical figures, so the fast path is checked against code that is obviously right.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date

from claims.models import BulkClaimJob, Claim
from providers.models import Provider
from reports.selectors import ZERO, day_bounds, figures_assemble


def report_figures_naive(*, day: date) -> dict:
    start, end = day_bounds(day)
    claim_rows: dict[tuple, list] = defaultdict(lambda: [0, ZERO, ZERO, ZERO, ZERO])
    reason_rows: dict[tuple, int] = defaultdict(int)
    took = []
    for claim in Claim.objects.filter(decided_at__gte=start, decided_at__lt=end).select_related("member"):
        provider = Provider.objects.filter(practice_number=claim.practice_number).first()
        number = provider.practice_number if provider else claim.practice_number
        values = (1, claim.total_claimed, claim.total_eligible, claim.total_copay, claim.total_benefit)
        row = claim_rows[(claim.member.plan_id, number, claim.status)]
        for i, value in enumerate(values):
            row[i] += value
        for line in claim.lines.all():
            if line.outcome == "rejected":
                reason_rows[(claim.member.plan_id, number, line.reason_codes)] += 1
        took.append((claim.decided_at - claim.received_at).total_seconds())
    received, submitted = 0, ZERO
    for claim in Claim.objects.filter(received_at__gte=start, received_at__lt=end):
        received += 1
        submitted += claim.total_claimed
    jobs = list(BulkClaimJob.objects.filter(created_at__gte=start, created_at__lt=end))
    took.sort()
    decision = (None, None)
    if took:
        decision = (max(0, round(sum(took) / len(took))), max(0, round(took[math.ceil(0.95 * len(took)) - 1])))
    return figures_assemble(
        day=day,
        claim_rows=[(*key, *row) for key, row in claim_rows.items()],
        reason_rows=[(*key, n) for key, n in reason_rows.items()],
        received=(received, submitted),
        decision_seconds=decision,
        bulk_jobs=(len(jobs), sum(job.total for job in jobs)),
    )
