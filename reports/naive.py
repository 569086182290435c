"""The baseline for the daily report: the same figures from model instances, summed in Python.

This is what a competent developer writes without SQL aggregation: the day's claims through the ORM
with their member joined (`select_related`) and their rejected lines fetched in one query per chunk
(`prefetch_related`), only the columns the report needs (`only`), streamed in chunks (`iterator`), and
every count, sum and percentile computed in Python. No query per claim, nothing read that is not used.
bench/reports.py times it beside `report_figures` (GROUP BYs in the database); both feed
`figures_assemble`, and reports/tests hold the two to identical reports, so the fast path is checked
against code that is obviously right and the speedup is measured against a fair baseline.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date

from django.db.models import Prefetch

from claims.models import BulkClaimJob, Claim, ClaimLine
from reports.selectors import ZERO, day_bounds, figures_assemble

CHUNK = 2000  # claims per query; their rejected lines come in one more query per chunk


def report_figures_naive(*, day: date) -> dict:
    start, end = day_bounds(day)
    rejected_lines = Prefetch(
        "lines", queryset=ClaimLine.objects.filter(outcome=ClaimLine.Outcome.REJECTED).only("claim_id", "reason_codes")
    )
    decided = (
        Claim.objects.filter(decided_at__gte=start, decided_at__lt=end)
        .select_related("member")
        .only(
            "member__plan_id",
            "practice_number",
            "status",
            "received_at",
            "decided_at",
            "total_claimed",
            "total_eligible",
            "total_copay",
            "total_benefit",
        )
        .prefetch_related(rejected_lines)
    )
    claim_rows: dict[tuple, list] = defaultdict(lambda: [0, ZERO, ZERO, ZERO, ZERO])
    reason_rows: dict[tuple, int] = defaultdict(int)
    took = []
    for claim in decided.iterator(chunk_size=CHUNK):
        plan_id = claim.member.plan_id
        row = claim_rows[(plan_id, claim.practice_number, claim.status)]
        row[0] += 1
        row[1] += claim.total_claimed
        row[2] += claim.total_eligible
        row[3] += claim.total_copay
        row[4] += claim.total_benefit
        for line in claim.lines.all():
            reason_rows[(plan_id, claim.practice_number, line.reason_codes)] += 1
        took.append((claim.decided_at - claim.received_at).total_seconds())
    received, submitted = 0, ZERO
    received_claims = Claim.objects.filter(received_at__gte=start, received_at__lt=end).only("total_claimed")
    for claim in received_claims.iterator(chunk_size=CHUNK):
        received += 1
        submitted += claim.total_claimed
    jobs = list(BulkClaimJob.objects.filter(created_at__gte=start, created_at__lt=end).only("total"))
    took.sort()
    decision = (None, None)
    if took:
        average = sum(took) / len(took)
        decision = (max(0, round(average)), max(0, round(took[math.ceil(0.95 * len(took)) - 1])))
    return figures_assemble(
        day=day,
        claim_rows=[(*key, *row) for key, row in claim_rows.items()],
        reason_rows=[(*key, n) for key, n in reason_rows.items()],
        received=(received, submitted),
        decision_seconds=decision,
        bulk_jobs=(len(jobs), sum(job.total for job in jobs)),
    )
