"""The claims app's sections of /metrics (core/metrics/collector.py), registered from ClaimsConfig.ready().

Label values are job ids, statuses and outcome names only: never anything that belongs to a member.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from claims.models import BulkClaimJob, Claim
from core.metrics.collector import PREFIX, count_by_status

# Finished bulk jobs keep their per-job series this long after they end (long enough to see a job end),
# so the number of series stays bounded by the jobs of a day.
FINISHED_JOB_SECONDS = 24 * 3600
JOB_FIELDS = (
    "total",
    "done",
    "approved",
    "partially_approved",
    "rejected",
    "pended",
    "already_decided",
    "not_found",
    "failed",
)


def bulk_job_metrics() -> list[Metric]:
    """Bulk jobs by status, and the progress of each job running or finished in the last day."""
    jobs = GaugeMetricFamily(f"{PREFIX}_bulk_jobs", "Bulk adjudication jobs by status", labels=["status"])
    by_status = count_by_status(BulkClaimJob)
    for status in BulkClaimJob.Status.values:
        jobs.add_metric([status], by_status.get(status, 0))
    claims = GaugeMetricFamily(
        f"{PREFIX}_bulk_job_claims",
        "Claims of a bulk job: total found, done, and each outcome so far",
        labels=["job", "kind"],
    )
    chunks = GaugeMetricFamily(
        f"{PREFIX}_bulk_job_chunks", "Chunks of a bulk job: total and done", labels=["job", "kind"]
    )
    progress = GaugeMetricFamily(
        f"{PREFIX}_bulk_job_progress_ratio", "Claims done / claims found (1 when none)", labels=["job"]
    )
    status = GaugeMetricFamily(f"{PREFIX}_bulk_job_status", "1 for the job's current status", labels=["job", "status"])
    since = timezone.now() - timedelta(seconds=FINISHED_JOB_SECONDS)
    recent = BulkClaimJob.objects.filter(status=BulkClaimJob.Status.RUNNING) | BulkClaimJob.objects.filter(
        finished_at__gte=since
    )
    fields = ("id", "status", "chunks_total", "chunks_done", *JOB_FIELDS)
    for row in recent.order_by("id").values(*fields):
        job = str(row["id"])
        for field in JOB_FIELDS:
            claims.add_metric([job, field], row[field])
        chunks.add_metric([job, "total"], row["chunks_total"])
        chunks.add_metric([job, "done"], row["chunks_done"])
        progress.add_metric([job], row["done"] / row["total"] if row["total"] else 1.0)
        status.add_metric([job, row["status"]], 1)
    return [jobs, claims, chunks, progress, status]


def claim_metrics() -> list[Metric]:
    """Claims by status: pending, and decided by outcome (approved, partially approved, rejected)."""
    gauge = GaugeMetricFamily(f"{PREFIX}_claims", "Claims by status (the decided ones by outcome)", labels=["status"])
    counts = count_by_status(Claim)
    for status in Claim.Status.values:
        gauge.add_metric([status], counts.get(status, 0))
    return [gauge]
