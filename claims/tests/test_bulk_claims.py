"""process_bulk_claims as the seed calls it: exact, independent of worker count and ID order, crash-safe."""

import pytest
from django.db.models import Count, Sum

from claims.demo import demo_data_seed
from claims.models import BenefitLedger, BulkClaimJob, Claim, ClaimLine
from claims.services import BulkInputError
from conftest import wait_until
from core.tasks import process_bulk_claims


def snapshot() -> dict:
    """Every decision, amount and ledger entry, keyed by what does not change between runs."""
    claims = sorted(
        Claim.objects.values_list(
            "claim_number", "status", "reason_code", "total_eligible", "total_copay", "total_benefit"
        )
    )
    lines = sorted(
        ClaimLine.objects.values_list(
            "claim__claim_number",
            "line_number",
            "outcome",
            "eligible_amount",
            "copay_amount",
            "benefit_amount",
            "reason_codes",
        )
    )
    ledger = sorted(
        BenefitLedger.objects.values_list("claim_line__claim__claim_number", "claim_line__line_number", "amount")
    )
    return {"claims": claims, "lines": lines, "ledger": ledger}


def undo_all_decisions() -> None:
    BenefitLedger.objects.all().delete()
    ClaimLine.objects.update(eligible_amount=0, copay_amount=0, benefit_amount=0, outcome="pending", reason_codes="")
    Claim.objects.update(
        status="pending", reason_code="", total_eligible=0, total_copay=0, total_benefit=0, decided_at=None, job=None
    )


def assert_ledger_matches_decisions() -> None:
    assert not Claim.objects.filter(status="pending").exists()
    line_benefits = ClaimLine.objects.aggregate(total=Sum("benefit_amount"))["total"]
    assert BenefitLedger.objects.aggregate(total=Sum("amount"))["total"] == line_benefits
    assert Claim.objects.aggregate(total=Sum("total_benefit"))["total"] == line_benefits
    assert BenefitLedger.objects.count() == ClaimLine.objects.filter(benefit_amount__gt=0).count()
    twice = BenefitLedger.objects.values("claim_line").annotate(n=Count("id")).filter(n__gt=1)
    assert not twice.exists()


@pytest.mark.django_db
def test_the_seeds_example_runs_as_written_and_reports_unknown_ids():
    demo_data_seed(members=5, claims=5, seed=1)
    ids = list(Claim.objects.order_by("id").values_list("id", flat=True))[:5]
    result = process_bulk_claims(ids + [10**9])  # called directly, as SEED.md's first example does
    assert result["requested"] == 6 and result["not_found"] == 1 and result["total"] == 5
    assert result["adjudicated"] == 5 and result["status"] == "completed"
    assert result["approved"] + result["partially_approved"] + result["rejected"] + result["pended"] == 5
    again = process_bulk_claims(ids)
    assert (again["adjudicated"], again["already_decided"]) == (0, 5)


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["1,2,3", [1, "2"], [0], [-5], [], {"ids": [1]}, [True], [1.5], None])
def test_bad_input_fails_fast_with_a_clear_error(bad):
    with pytest.raises(BulkInputError):
        process_bulk_claims(bad)
    assert not BulkClaimJob.objects.exists()


@pytest.mark.django_db
def test_the_order_of_the_ids_does_not_change_any_decision(settings):
    settings.BULK_CHUNK_SIZE = 50
    demo_data_seed(members=150, claims=800, seed=3)
    ids = list(Claim.objects.values_list("id", flat=True))
    process_bulk_claims(sorted(ids))
    forward = snapshot()
    undo_all_decisions()
    process_bulk_claims(sorted(ids, reverse=True))
    assert snapshot() == forward
    assert_ledger_matches_decisions()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_one_worker_and_four_parallel_workers_decide_identically(start_worker):
    demo_data_seed(members=300, claims=3000, seed=5)
    ids = list(Claim.objects.values_list("id", flat=True))
    env = {"BULK_CHUNK_SIZE": "100"}

    one = start_worker("solo", env=env, concurrency=1)
    result = process_bulk_claims.delay(ids)
    summary = result.get(timeout=300)
    assert summary["adjudicated"] == len(ids)
    # The message, and so the stored result, carries the job; the 3,000 IDs live on the job row.
    # (django-db stores their repr, Redis the values: compare as text)
    assert (str(result.args), str(result.kwargs)) in {
        ("[]", str({"job_id": summary["job_id"]})),
        ("()", str({"job_id": summary["job_id"]})),
    }
    alone = snapshot()
    one.stop()

    undo_all_decisions()
    for n in range(2):
        start_worker(f"pair{n}", env=env, concurrency=2)
    summary = process_bulk_claims.delay(sorted(ids, reverse=True)).get(timeout=300)
    assert summary["adjudicated"] == len(ids) and summary["failed"] == 0
    assert snapshot() == alone
    assert_ledger_matches_decisions()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_a_big_job_loses_and_repeats_nothing(start_worker):
    from core.tests.test_broker_worker import short_lease_env

    demo_data_seed(members=4000, claims=20000, seed=11)
    ids = list(Claim.objects.values_list("id", flat=True))
    env = {**short_lease_env(), "BULK_CHUNK_SIZE": "250"}
    first = start_worker("first", env=env, concurrency=2)
    process_bulk_claims.delay(ids)
    wait_until(lambda: BulkClaimJob.objects.filter(done__gt=2000).exists(), 300, "the job got going")
    job = BulkClaimJob.objects.get()
    assert job.done < job.total, "the job finished before the kill: make it bigger"
    first.kill()

    start_worker("second", env=env, concurrency=2)
    wait_until(lambda: BulkClaimJob.objects.filter(status="completed").exists(), 600, "the job completed")
    job = BulkClaimJob.objects.get()
    assert (job.total, job.done, job.failed) == (len(ids), len(ids), 0)
    assert job.approved + job.partially_approved + job.rejected + job.pended == len(ids)  # pended: for an assessor
    assert_ledger_matches_decisions()
