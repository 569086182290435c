"""Every bulk job ends, and ends honestly: the sweep, failed chunks, a short coordinator (issue 8 §3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from claims.demo import demo_data_seed
from claims.models import BulkClaimChunk, BulkClaimJob, Claim
from claims.services import (
    bulk_job_create,
    bulk_job_failed_claim_ids,
    bulk_job_run,
    bulk_jobs_sweep,
    chunk_adjudicate,
)
from claims.tests.test_bulk_claims import assert_ledger_matches_decisions
from core.tasks import process_bulk_claims

pytestmark = pytest.mark.django_db


@pytest.fixture
def claims(settings):
    settings.BULK_CHUNK_SIZE = 20
    demo_data_seed(members=30, claims=120, seed=2)
    return list(Claim.objects.order_by("id").values_list("id", flat=True))


def planned_job(ids) -> BulkClaimJob:
    """A job planned into chunks and handed out, whose coordinator then died (budget 0: it returns at once)."""
    job = bulk_job_create(claim_ids=ids)
    summary = bulk_job_run(job_id=job.id, budget=0)
    assert summary["status"] == "running" and summary["chunks_total"] > 2
    return BulkClaimJob.objects.get(id=job.id)


def silent_for(job: BulkClaimJob, seconds: int) -> None:
    BulkClaimJob.objects.filter(id=job.id).update(progress_at=timezone.now() - timedelta(seconds=seconds))


def test_a_coordinator_with_no_time_left_returns_and_the_last_chunk_ends_the_job(claims):
    job = planned_job(claims)
    while chunk_adjudicate(job_id=job.id):  # what the published chunk tasks do, one by one
        pass
    job.refresh_from_db()
    assert (job.status, job.done, job.chunks_done) == ("completed", len(claims), job.chunks_total)
    assert job.finished_at is not None
    assert_ledger_matches_decisions()


def test_a_job_stored_by_delay_holds_the_ids_and_the_message_only_the_job(claims, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        process_bulk_claims.delay(list(reversed(claims)))
    job = BulkClaimJob.objects.get()
    assert job.claim_ids == claims and job.requested == len(claims) and job.chunks_total == 0
    assert len(callbacks) == 1  # published when the caller's transaction commits


def test_bad_input_to_delay_fails_in_the_caller_and_stores_nothing(claims):
    for bad in ([], [0], ["1"], [10**30], "1,2"):
        with pytest.raises(ValueError):
            process_bulk_claims.delay(bad)
    assert not BulkClaimJob.objects.exists()


def test_a_chunk_that_cannot_be_decided_ends_the_job_completed_with_errors_naming_what_is_left(claims):
    job = planned_job(claims)
    broken = BulkClaimChunk.objects.filter(job=job, done=False).order_by("index").first()
    left = list(broken.claim_ids)
    BulkClaimChunk.objects.filter(id=broken.id).update(claim_ids=["not-an-id"])  # a deterministic failure
    while chunk_adjudicate(job_id=job.id):
        pass
    job.refresh_from_db()
    assert job.status == "completed_with_errors" and job.finished_at is not None
    assert job.failed == 0  # the broken chunk's own list names no pending claim any more
    assert f"chunk {broken.index}" in job.error and "ValueError" in job.error
    BulkClaimChunk.objects.filter(id=broken.id).update(claim_ids=left)
    assert bulk_job_failed_claim_ids(job) == sorted(left)
    assert Claim.objects.filter(id__in=left, status="pending").count() == len(left)


def test_the_sweep_publishes_again_the_chunks_of_a_job_without_progress_once_per_stall(claims, settings):
    settings.BULK_JOB_STALL_SECONDS = 120
    job = planned_job(claims)
    assert bulk_jobs_sweep()["resumed"] == 0  # it just moved
    silent_for(job, 130)
    report = bulk_jobs_sweep()
    assert report["resumed"] == 1 and report["chunks_published"] == job.chunks_total
    assert bulk_jobs_sweep()["resumed"] == 0  # not again until another stall period has passed
    job.refresh_from_db()
    assert job.resumes == 1 and job.resumed_at is not None and job.status == "running"


def test_the_sweep_publishes_again_a_job_whose_coordinator_never_planned_it(claims, settings):
    job = bulk_job_create(claim_ids=claims)
    BulkClaimJob.objects.filter(id=job.id).update(created_at=timezone.now() - timedelta(minutes=10))
    report = bulk_jobs_sweep()
    assert (report["resumed"], report["chunks_published"]) == (1, 1)  # its coordinator


def test_the_sweep_ends_a_job_whose_chunks_all_ended_but_nobody_said_so(claims):
    job = planned_job(claims)
    while chunk_adjudicate(job_id=job.id):
        pass
    BulkClaimJob.objects.filter(id=job.id).update(status="running", finished_at=None)
    silent_for(job, 600)
    assert bulk_jobs_sweep()["finished"] == 1
    assert BulkClaimJob.objects.get(id=job.id).status == "completed"


def test_a_job_that_cannot_finish_ends_failed_with_the_reason(claims, settings):
    settings.BULK_JOB_GIVE_UP_SECONDS = 3600
    job = planned_job(claims)
    silent_for(job, 3700)
    assert bulk_jobs_sweep()["failed"] == 1
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert f"{len(claims)} claims left pending" in job.error
    assert not chunk_adjudicate(job_id=job.id)  # a late chunk message decides nothing for a failed job


def test_a_finished_job_is_never_touched_by_the_sweep(claims):
    summary = process_bulk_claims(claims)  # called directly: decided to the end here
    assert summary["status"] == "completed" and summary["adjudicated"] == len(claims)
    BulkClaimJob.objects.update(progress_at=timezone.now() - timedelta(days=1))
    assert bulk_jobs_sweep() == {"resumed": 0, "chunks_published": 0, "finished": 0, "failed": 0}


def test_admin_and_api_show_a_job_completed_with_errors_and_the_claims_it_left_pending(
    claims, admin_client, admin_user
):
    from rest_framework.test import APIClient

    job = planned_job(claims)
    broken = BulkClaimChunk.objects.filter(job=job, done=False).order_by("index").first()
    left = sorted(broken.claim_ids)
    BulkClaimChunk.objects.filter(id=broken.id).update(claim_ids=["bad", *left])  # a deterministic failure
    while chunk_adjudicate(job_id=job.id):
        pass
    BulkClaimChunk.objects.filter(id=broken.id).update(claim_ids=left)
    page = admin_client.get(f"/admin/claims/bulkclaimjob/{job.id}/change/").content.decode()
    assert "Completed with errors" in page and f"{len(left)}: {left[0]}, {left[1]}" in page
    assert f"{len(claims)} claim IDs" in page  # not the list itself
    api = APIClient()
    api.force_authenticate(user=admin_user)
    body = api.get(f"/api/bulk-jobs/{job.id}/").json()
    assert body["status"] == "completed_with_errors" and body["claims_left_pending"] == left
