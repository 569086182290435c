"""The claims API: submit one claim or a batch, read claims and their adjudication, start and follow bulk jobs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from rest_framework.test import APIClient

from claims import submission
from claims.adjudication.reasons import DESCRIPTIONS
from claims.models import BulkClaimJob, Claim, ClaimLine
from core.api_errors import MALFORMED, REFUSED
from members.models import Member, Plan, Scheme

pytestmark = pytest.mark.django_db


@pytest.fixture
def family():
    scheme = Scheme.objects.create(code="MED", name="MedAid")
    plan = Plan.objects.create(
        scheme=scheme,
        code="CLASSIC",
        name="Classic",
        year=2026,
        effective_from=dt.date(2026, 1, 1),
        effective_to=dt.date(2026, 12, 31),
    )
    common = {
        "plan": plan,
        "date_of_birth": dt.date(1980, 1, 1),
        "status_since": dt.date(2020, 1, 1),
        "join_date": dt.date(2020, 1, 1),
        "cover_start": dt.date(2020, 1, 1),
    }
    principal = Member.objects.create(membership_number="10001", first_name="Thandi", last_name="N", **common)
    child = Member.objects.create(
        membership_number="10001",
        dependant_code="01",
        principal=principal,
        relationship="child",
        first_name="Sipho",
        last_name="N",
        **common,
    )
    return principal, child


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def a_claim(number="C-1", **changes) -> dict:
    claim = {
        "claim_number": number,
        "membership_number": "10001",
        "dependant_code": "00",
        "practice_number": "0123456",
        "service_date": "2026-03-02",
        "lines": [
            {"tariff_code": "0190", "icd10_codes": ["J06.9"], "quantity": 1, "claimed_amount": "450.00"},
            {"tariff_code": "4014", "icd10_codes": ["J06.9", "R50.9"], "quantity": 2, "claimed_amount": "120.50"},
        ],
    }
    claim.update(changes)
    return claim


def a_line(**changes) -> dict:
    return {"tariff_code": "0190", "icd10_codes": ["J06.9"], "quantity": 1, "claimed_amount": "100.00", **changes}


# --- who may call ---------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/api/claims/"),
    ("post", "/api/claims/"),
    ("post", "/api/claims/batch/"),
    ("get", "/api/claims/C-1/"),
    ("post", "/api/bulk-jobs/"),
    ("get", "/api/bulk-jobs/1/"),
    ("get", "/api/members/10001-00/balances/"),
    ("get", "/api/schema/"),
    ("get", "/api/docs/"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_it_refuses_anonymous_callers(family, method, url):
    response = getattr(APIClient(), method)(url, {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_it_accepts_a_token(family, role_user):
    _, key = role_user("claims assessor", token=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/claims/").status_code == 200


def test_the_openapi_schema_is_served_to_an_authenticated_user(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/claims/batch/" in response.content
    assert api.get("/api/docs/").status_code == 200


# --- submitting one claim -------------------------------------------------------------------------


def test_it_stores_a_claim_with_its_lines(api, family):
    before = timezone.now()
    response = api.post("/api/claims/", a_claim(), format="json")
    assert response.status_code == 201, response.json()
    assert response["Location"] == "/api/claims/C-1/"
    claim = Claim.objects.get(claim_number="C-1")
    assert claim.member == family[0]
    assert claim.status == Claim.Status.PENDING
    assert claim.total_claimed == Decimal("570.50")
    assert claim.received_at >= before
    lines = list(claim.lines.order_by("line_number").values_list("line_number", "icd10_codes", "quantity"))
    assert lines == [(1, "J06.9", 1), (2, "J06.9,R50.9", 2)]
    body = response.json()
    assert body["status"] == "pending"
    assert body["lines"][1]["icd10_codes"] == ["J06.9", "R50.9"]


def test_it_stores_a_dependants_claim_with_the_given_receipt_time(api, family):
    received = "2026-03-03T08:30:00Z"
    response = api.post("/api/claims/", a_claim(dependant_code="01", received_at=received), format="json")
    assert response.status_code == 201, response.json()
    claim = Claim.objects.get(claim_number="C-1")
    assert claim.member == family[1]
    assert claim.received_at == dt.datetime(2026, 3, 3, 8, 30, tzinfo=dt.UTC)


def test_it_leaves_unknown_practices_and_malformed_diagnoses_to_the_adjudication(api, family):
    claim = a_claim(practice_number="NOT-REGISTERED", lines=[a_line(icd10_codes=["not a code"]), a_line()])
    response = api.post("/api/claims/", claim, format="json")
    assert response.status_code == 201, response.json()
    assert Claim.objects.get().practice_number == "NOT-REGISTERED"


BAD_CLAIMS = [
    ("no lines", {"lines": []}, "lines"),
    ("lines missing", {"lines": None}, "lines"),
    ("51 lines", {"lines": [a_line()] * 51}, "lines"),
    ("quantity 0", {"lines": [a_line(quantity=0)]}, "lines"),
    ("amount 0", {"lines": [a_line(claimed_amount="0.00")]}, "lines"),
    ("negative amount", {"lines": [a_line(claimed_amount="-5")]}, "lines"),
    ("three decimals", {"lines": [a_line(claimed_amount="10.005")]}, "lines"),
    ("amount not a number", {"lines": [a_line(claimed_amount="ten")]}, "lines"),
    ("icd10 not a list", {"lines": [a_line(icd10_codes="J06.9")]}, "lines"),
    ("icd10 not strings", {"lines": [a_line(icd10_codes=[106])]}, "lines"),
    ("icd10 with a comma", {"lines": [a_line(icd10_codes=["J06.9,R50.9"])]}, "lines"),
    ("blank tariff code", {"lines": [a_line(tariff_code="")]}, "lines"),
    ("bad service date", {"service_date": "2026-02-30"}, "service_date"),
    ("bad receipt time", {"received_at": "yesterday"}, "received_at"),
    ("blank claim number", {"claim_number": ""}, "claim_number"),
    ("claim number with a slash", {"claim_number": "A/1"}, "claim_number"),
    ("reserved claim number", {"claim_number": "batch"}, "claim_number"),
    ("claim number too long", {"claim_number": "X" * 31}, "claim_number"),
    ("no practice number", {"practice_number": ""}, "practice_number"),
    ("no dependant code", {"dependant_code": None}, "dependant_code"),
]


@pytest.mark.parametrize(("case", "changes", "field"), BAD_CLAIMS, ids=[case[0] for case in BAD_CLAIMS])
def test_it_refuses_a_bad_field_and_stores_nothing(api, family, case, changes, field):
    claim = {key: value for key, value in a_claim(**changes).items() if value is not None}
    response = api.post("/api/claims/", claim, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == MALFORMED
    assert field in response.json()["errors"], response.json()
    assert not Claim.objects.exists()
    assert not ClaimLine.objects.exists()


def test_a_line_error_names_the_line_and_the_field(api, family):
    response = api.post("/api/claims/", a_claim(lines=[a_line(), a_line(quantity=0)]), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": MALFORMED,
        "errors": {"lines": {"1": {"quantity": ["Ensure this value is greater than or equal to 1."]}}},
    }


def test_it_refuses_a_claim_for_an_unknown_member_as_refused_by_the_data(api, family):
    response = api.post("/api/claims/", a_claim(dependant_code="07"), format="json")
    assert response.status_code == 422
    assert response.json()["detail"] == REFUSED
    assert "10001-07" in response.json()["errors"]["membership_number"][0]
    assert not Claim.objects.exists()


def test_it_refuses_a_claim_number_that_exists(api, family):
    assert api.post("/api/claims/", a_claim(), format="json").status_code == 201
    response = api.post("/api/claims/", a_claim(practice_number="999"), format="json")
    assert response.status_code == 422
    assert "already exists" in response.json()["errors"]["claim_number"][0]
    assert Claim.objects.get().practice_number == "0123456"


def test_a_claim_number_taken_by_a_concurrent_request_is_422_not_500(api, family):
    """Another request stores the number between our check and our insert: the unique index decides."""
    api.post("/api/claims/", a_claim(), format="json")
    real_check = submission._check
    looks = []

    def check(items, members):  # the first look misses the other request's claim
        looks.append(1)
        return {} if len(looks) == 1 else real_check(items, members)

    with mock.patch.object(submission, "_check", side_effect=check):
        response = api.post("/api/claims/", a_claim(practice_number="999"), format="json")
    assert response.status_code == 422
    assert "already exists" in response.json()["errors"]["claim_number"][0]
    assert len(looks) == 2
    assert Claim.objects.get().practice_number == "0123456"


# --- submitting a batch ---------------------------------------------------------------------------


def test_it_stores_a_batch(api, family):
    batch = [a_claim("B-1"), a_claim("B-2", dependant_code="01"), a_claim("B-3")]
    response = api.post("/api/claims/batch/", batch, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["count"] == 3
    assert [c["claim_number"] for c in response.json()["claims"]] == ["B-1", "B-2", "B-3"]
    assert all(isinstance(c["id"], int) for c in response.json()["claims"])
    assert Claim.objects.count() == 3
    assert ClaimLine.objects.count() == 6


@pytest.mark.parametrize(
    ("batch", "bad_index", "field", "status"),
    [
        ([a_claim("B-1"), a_claim("B-2", lines=[a_line(quantity=0)])], "1", "lines", 400),
        ([a_claim("B-1"), a_claim("B-2", dependant_code="09")], "1", "membership_number", 422),
        ([a_claim("B-1"), a_claim("B-1")], "1", "claim_number", 422),
        ([a_claim("EXISTS"), a_claim("B-2")], "0", "claim_number", 422),
    ],
    ids=["a bad line", "an unknown member", "a number twice in the batch", "a number that exists"],
)
def test_a_batch_with_one_bad_claim_stores_nothing(api, family, batch, bad_index, field, status):
    api.post("/api/claims/", a_claim("EXISTS"), format="json")
    response = api.post("/api/claims/batch/", batch, format="json")
    assert response.status_code == status
    assert response.json()["detail"] == (MALFORMED if status == 400 else REFUSED)
    errors = response.json()["errors"]
    assert list(errors) == [bad_index]
    assert field in errors[bad_index]
    assert list(Claim.objects.values_list("claim_number", flat=True)) == ["EXISTS"]
    assert ClaimLine.objects.count() == 2


@pytest.mark.parametrize("body", [{"claim_number": "X"}, [], "claims"], ids=["an object", "empty", "a string"])
def test_a_batch_must_be_a_list_of_claims(api, family, body):
    response = api.post("/api/claims/batch/", body, format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()["errors"]


# --- reading claims -------------------------------------------------------------------------------


def _decide(claim: Claim) -> None:
    """What the adjudication would have written, set by hand."""
    claim.status, claim.total_eligible, claim.total_copay, claim.total_benefit = "partially_approved", 500, 50, 400
    claim.decided_at = timezone.now()
    claim.save()
    first, second = claim.lines.order_by("line_number")
    first.outcome, first.eligible_amount, first.copay_amount, first.benefit_amount = "partial", 450, 45, 355
    first.reason_codes, first.benefit_code = "COPAY_APPLIED,MEMBER_LIMIT_REACHED", "GP"
    first.save()
    second.outcome, second.reason_codes = "rejected", "ICD10_INVALID"
    second.save()


def test_it_shows_a_claim_with_its_adjudication_in_plain_words(api, family):
    api.post("/api/claims/", a_claim(), format="json")
    _decide(Claim.objects.get())
    body = api.get("/api/claims/C-1/").json()
    assert body["status"] == "partially_approved"
    assert body["total_benefit"] == "400.00"
    assert body["reason"] is None
    first, second = body["lines"]
    assert (first["outcome"], first["eligible_amount"], first["copay_amount"], first["benefit_amount"]) == (
        "partial",
        "450.00",
        "45.00",
        "355.00",
    )
    assert first["reasons"] == [
        {"code": "COPAY_APPLIED", "description": DESCRIPTIONS["COPAY_APPLIED"]},
        {"code": "MEMBER_LIMIT_REACHED", "description": DESCRIPTIONS["MEMBER_LIMIT_REACHED"]},
    ]
    assert second["reasons"] == [{"code": "ICD10_INVALID", "description": DESCRIPTIONS["ICD10_INVALID"]}]


def test_it_explains_a_claim_level_rejection(api, family):
    api.post("/api/claims/", a_claim(), format="json")
    Claim.objects.update(status="rejected", reason_code="PROVIDER_UNKNOWN")
    body = api.get("/api/claims/C-1/").json()
    assert body["reason"] == {"code": "PROVIDER_UNKNOWN", "description": DESCRIPTIONS["PROVIDER_UNKNOWN"]}


def test_an_unknown_claim_is_404(api, family):
    assert api.get("/api/claims/NOPE/").status_code == 404


def test_it_lists_claims_by_status_and_member(api, family):
    batch = [a_claim("L-1"), a_claim("L-2", dependant_code="01"), a_claim("L-3", dependant_code="01")]
    api.post("/api/claims/batch/", batch, format="json")
    Claim.objects.filter(claim_number="L-3").update(status="approved")

    def numbers(query):
        response = api.get("/api/claims/", query)
        assert response.status_code == 200, response.json()
        return sorted(c["claim_number"] for c in response.json()["results"])

    assert numbers({}) == ["L-1", "L-2", "L-3"]
    assert numbers({"status": "", "member": ""}) == ["L-1", "L-2", "L-3"]
    assert numbers({"status": "pending"}) == ["L-1", "L-2"]
    assert numbers({"member": "10001-01"}) == ["L-2", "L-3"]
    assert numbers({"member": "10001"}) == ["L-1", "L-2", "L-3"]
    assert numbers({"member": "10001-01", "status": "approved"}) == ["L-3"]
    assert api.get("/api/claims/").json()["count"] == 3


def test_a_bad_list_filter_is_400(api, family):
    response = api.get("/api/claims/", {"status": "paid", "member": "10001 01"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"status", "member"}


# --- bulk jobs ------------------------------------------------------------------------------------


def test_it_starts_a_bulk_job_for_the_given_claims(api, family, django_capture_on_commit_callbacks):
    api.post("/api/claims/batch/", [a_claim("J-1"), a_claim("J-2")], format="json")
    ids = list(Claim.objects.order_by("id").values_list("id", flat=True))
    from core.tasks import process_bulk_claims

    with (
        mock.patch.object(process_bulk_claims, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = api.post("/api/bulk-jobs/", {"claim_ids": ids}, format="json")
    assert response.status_code == 202, response.json()
    job = BulkClaimJob.objects.get()
    assert response.json()["id"] == job.id
    assert response.json()["requested"] == 2
    assert response["Location"] == f"/api/bulk-jobs/{job.id}/"
    assert len(callbacks) == 1
    delay.assert_called_once_with(job_id=job.id)  # the message carries the job; the job holds the IDs
    assert job.claim_ids == ids


def test_it_starts_a_bulk_job_for_all_pending_claims(api, family, django_capture_on_commit_callbacks):
    api.post("/api/claims/batch/", [a_claim("J-1"), a_claim("J-2"), a_claim("J-3")], format="json")
    Claim.objects.filter(claim_number="J-2").update(status="approved")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post("/api/bulk-jobs/", {"all_pending": True}, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["requested"] == 2
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "non_field_errors"),
        ({"all_pending": False}, "all_pending"),
        ({"all_pending": "true"}, "all_pending"),
        ({"claim_ids": [1], "all_pending": True}, "non_field_errors"),
        ({"claim_ids": []}, "claim_ids"),
        ({"claim_ids": "1,2"}, "claim_ids"),
        ({"claim_ids": [1, "x"]}, "claim_ids"),
        ({"claim_ids": [1, "2"]}, "claim_ids"),
        ({"claim_ids": [0]}, "claim_ids"),
    ],
)
def test_a_bad_bulk_job_request_is_400(api, family, body, field):
    response = api.post("/api/bulk-jobs/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not BulkClaimJob.objects.exists()


def test_all_pending_with_nothing_pending_is_refused_by_the_data(api, family):
    response = api.post("/api/bulk-jobs/", {"all_pending": True}, format="json")
    assert response.status_code == 422
    assert "no pending claims" in response.json()["errors"]["all_pending"][0]
    assert not BulkClaimJob.objects.exists()


def test_starting_a_bulk_job_needs_the_permission(family, role_user):
    clerk = role_user()
    client = APIClient()
    client.force_authenticate(clerk)
    assert client.post("/api/bulk-jobs/", {"claim_ids": [1]}, format="json").status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="add_bulkclaimjob"))
    client.force_authenticate(User.objects.get(pk=clerk.pk))  # a fresh permission cache
    assert client.post("/api/bulk-jobs/", {"claim_ids": [1]}, format="json").status_code == 202


def test_it_shows_a_bulk_jobs_progress(api):
    started = timezone.now() - dt.timedelta(seconds=90)
    job = BulkClaimJob.objects.create(
        requested=10,
        total=8,
        not_found=2,
        done=6,
        approved=3,
        partially_approved=2,
        rejected=1,
        failed=0,
        started_at=started,
        finished_at=started + dt.timedelta(seconds=12.5),
        status="completed",
    )
    body = api.get(f"/api/bulk-jobs/{job.id}/").json()
    assert body["status"] == "completed"
    assert (body["requested"], body["total"], body["done"], body["not_found"]) == (10, 8, 6, 2)
    assert (body["approved"], body["partially_approved"], body["rejected"]) == (3, 2, 1)
    assert body["percent_done"] == 75.0
    assert body["duration_seconds"] == 12.5
    assert api.get("/api/bulk-jobs/999999/").status_code == 404


def test_claim_ids_beyond_the_databases_integer_range_are_a_clear_400_not_a_500(api):
    response = api.post("/api/bulk-jobs/", {"claim_ids": [1, 10**30]}, format="json")
    assert response.status_code == 400
    assert "less than or equal to 9223372036854775807" in str(response.json()["errors"]["claim_ids"])
    assert api.get(f"/api/bulk-jobs/{10**30}/").status_code == 404


# --- the contract: one error body, declared parameters, JSON everywhere (core/api_errors.py) ------------


def test_malformed_json_is_a_400_with_the_same_body_as_any_other(api, family):
    response = api.generic("POST", "/api/claims/", '{"claim_number": ', content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert "JSON parse error" in body["errors"]["non_field_errors"][0]


def test_a_form_post_is_refused_as_an_unsupported_media_type(api, family):
    assert api.post("/api/claims/", {"claim_number": "C-1"}).status_code == 415  # JSON only, as documented


def test_the_list_takes_page_and_refuses_an_unknown_parameter(api, family):
    api.post("/api/claims/batch/", [a_claim(f"P-{n}") for n in range(51)], format="json")
    first = api.get("/api/claims/").json()
    assert len(first["results"]) == 50 and first["next"].endswith("?page=2")
    assert len(api.get("/api/claims/", {"page": 2}).json()["results"]) == 1
    assert api.get("/api/claims/", {"page": 3}).json() == {"detail": "Invalid page."}  # past the last: 404
    assert api.get("/api/claims/", {"page": 3}).status_code == 404
    assert api.get("/api/claims/", {"page": 0}).status_code == 400
    typo = api.get("/api/claims/", {"stauts": "pending"})
    assert typo.status_code == 400 and list(typo.json()["errors"]) == ["stauts"]


def test_a_path_no_route_takes_is_a_json_404(api):
    for url in ("/api/bulk-jobs/abc/", "/api/bulk-jobs/-1/", "/api/members/1-123/balances/", "/api/nothing/"):
        response = api.get(url)
        assert (response.status_code, response["Content-Type"]) == (404, "application/json"), url


def test_errors_echo_no_address_or_diagnosis(api, family):
    response = api.get("/api/claims/thandi.n@example.org/")
    assert response.status_code == 404 and b"thandi" not in response.content and b"example.org" not in response.content
    bad = a_claim(lines=[a_line(icd10_codes=["F32.1,F41.1"])])
    response = api.post("/api/claims/", bad, format="json")
    assert response.status_code == 400 and b"F32" not in response.content
    response = api.get("/api/claims/", {"status": "thandi.n@example.org"})
    assert response.status_code == 400 and b"thandi" not in response.content
