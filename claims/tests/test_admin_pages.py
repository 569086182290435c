"""The back-office admin: every domain model's pages render, claims filter and search, the action starts a job."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from claims.models import BenefitLedger, BulkClaimChunk, BulkClaimJob, Claim, ClaimLine, PreAuthorisation, TariffCode
from members.models import BenefitCategory, Member, Plan, Scheme, WaitingPeriod
from providers.models import Provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """One row of every model the admin shows; the claim is decided, with a ledger row."""
    scheme = Scheme.objects.create(code="MED", name="MedAid")
    plan = Plan.objects.create(
        scheme=scheme,
        code="CLASSIC",
        name="Classic",
        year=2026,
        effective_from=dt.date(2026, 1, 1),
        effective_to=dt.date(2026, 12, 31),
    )
    benefit = BenefitCategory.objects.create(plan=plan, code="GP", annual_limit_member=1000, copay_percent=10)
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
    waiting = WaitingPeriod.objects.create(
        member=child, kind="condition", icd10_prefix="E11", start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)
    )
    provider = Provider.objects.create(practice_number="0123456", name="Dr A", discipline="gp")
    tariff = TariffCode.objects.create(
        code="0190", description="Consultation", benefit_code="GP", unit_price=500, valid_from=dt.date(2026, 1, 1)
    )
    preauth = PreAuthorisation.objects.create(
        reference="PA-1",
        member=child,
        benefit_code="GP",
        authorised_amount=800,
        valid_from=dt.date(2026, 1, 1),
        valid_to=dt.date(2026, 6, 30),
    )
    job = BulkClaimJob.objects.create(requested=2, total=2, done=1, approved=1, started_at=timezone.now())
    chunk = BulkClaimChunk.objects.create(job=job, index=0, claim_ids=[1, 2])
    claim = Claim.objects.create(
        claim_number="C-1",
        member=child,
        practice_number=provider.practice_number,
        service_date=dt.date(2026, 3, 1),
        received_at=timezone.now(),
        status="approved",
        total_claimed=450,
        total_eligible=450,
        total_copay=45,
        total_benefit=405,
        decided_at=timezone.now(),
        job=job,
    )
    line = ClaimLine.objects.create(
        claim=claim,
        line_number=1,
        tariff_code="0190",
        icd10_codes="J06.9",
        claimed_amount=450,
        eligible_amount=450,
        copay_amount=45,
        benefit_amount=405,
        benefit_code="GP",
        outcome="approved",
        reason_codes="COPAY_APPLIED,PAID",
    )
    ledger = BenefitLedger.objects.create(
        member=child, family=principal, benefit_code="GP", benefit_year=2026, claim_line=line, amount=405
    )
    pending = Claim.objects.create(
        claim_number="C-2",
        member=principal,
        practice_number="UNKNOWN",
        service_date=dt.date(2026, 3, 2),
        received_at=timezone.now(),
    )
    ClaimLine.objects.create(claim=pending, line_number=1, tariff_code="0190", icd10_codes="J06.9", claimed_amount=90)
    objects = [scheme, plan, benefit, principal, waiting, provider, tariff, preauth, job, chunk, claim, ledger]
    return {type(obj).__name__: obj for obj in objects} | {"pending": pending}


MODELS = [
    "Scheme",
    "Plan",
    "BenefitCategory",
    "Member",
    "WaitingPeriod",
    "Provider",
    "TariffCode",
    "PreAuthorisation",
    "BulkClaimJob",
    "BulkClaimChunk",
    "Claim",
    "BenefitLedger",
]


def _url(obj, page: str) -> str:
    meta = obj._meta
    base = f"/admin/{meta.app_label}/{meta.model_name}/"
    return base if page == "changelist" else f"{base}{obj.pk}/change/"


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("page", ["changelist", "change"])
def test_the_admin_page_renders(admin_client, world, model, page):
    response = admin_client.get(_url(world[model], page))
    assert response.status_code == 200


@pytest.mark.parametrize("model", ["Scheme", "Plan", "Member", "Provider", "TariffCode", "PreAuthorisation", "Claim"])
def test_the_add_page_renders(admin_client, world, model):
    meta = world[model]._meta
    assert admin_client.get(f"/admin/{meta.app_label}/{meta.model_name}/add/").status_code == 200


@pytest.mark.parametrize("model", ["BulkClaimJob", "BulkClaimChunk", "BenefitLedger"])
def test_what_services_write_cannot_be_added_by_hand(admin_client, world, model):
    meta = world[model]._meta
    assert admin_client.get(f"/admin/{meta.app_label}/{meta.model_name}/add/").status_code == 403


def test_a_decided_claim_shows_its_reasons_in_plain_words_and_cannot_be_edited(admin_client, world):
    page = admin_client.get(_url(world["Claim"], "change")).content.decode()
    assert "A co-payment applies to this benefit." in page
    assert "Paid in full at the scheme rate." in page
    assert 'name="claim_number"' not in page
    assert 'name="lines-0-quantity"' not in page


def test_a_pending_claim_can_be_edited_but_not_its_adjudication(admin_client, world):
    page = admin_client.get(_url(world["pending"], "change")).content.decode()
    assert 'name="claim_number"' in page
    assert 'name="lines-0-quantity"' in page
    assert 'name="lines-0-benefit_amount"' not in page
    assert 'name="status"' not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status__exact=pending", ["C-2"]),
        ("practice=unregistered", ["C-2"]),
        ("practice=0123456", ["C-1"]),
        ("q=C-1", ["C-1"]),
        ("q=10001", ["C-1", "C-2"]),
        ("service_date__year=2026&service_date__month=3", ["C-1", "C-2"]),
    ],
)
def test_claims_filter_and_search(admin_client, world, query, expected):
    response = admin_client.get(f"/admin/claims/claim/?{query}")
    assert response.status_code == 200
    shown = sorted(claim.claim_number for claim in response.context["cl"].result_list)
    assert shown == expected


def test_claims_filter_by_the_members_plan(admin_client, world):
    response = admin_client.get(f"/admin/claims/claim/?member__plan__id__exact={world['Plan'].pk}")
    assert len(response.context["cl"].result_list) == 2


def test_the_adjudicate_action_starts_a_bulk_job(admin_client, world, django_capture_on_commit_callbacks):
    from core.tasks import process_bulk_claims

    ids = sorted([world["Claim"].pk, world["pending"].pk])
    with (
        mock.patch.object(process_bulk_claims, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = admin_client.post("/admin/claims/claim/", {"action": "adjudicate_selected", "_selected_action": ids})
    assert response.status_code == 302
    job = BulkClaimJob.objects.latest("id")
    assert job.requested == 2
    assert len(callbacks) == 1
    delay.assert_called_once_with(job_id=job.id)  # the message carries the job; the job holds the IDs
    assert job.claim_ids == ids
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert f'href="/admin/claims/bulkclaimjob/{job.id}/change/"' in message


def test_a_bulk_job_shows_its_progress(admin_client, world):
    page = admin_client.get("/admin/claims/bulkclaimjob/").content.decode()
    assert "50.0% (1/2)" in page
    assert admin_client.get("/admin/claims/bulkclaimjob/?q=not-a-number").status_code == 200


def test_a_member_shows_the_dependants(admin_client, world):
    page = admin_client.get(_url(world["Member"], "change")).content.decode()
    assert "Sipho" in page
    assert 'name="dependants-0-first_name"' not in page  # read-only


def test_saving_a_claim_in_the_admin_keeps_its_total(admin_client, world):
    form = {
        "claim_number": "C-3",
        "member": world["Member"].pk,
        "practice_number": "0123456",
        "service_date": "2026-03-05",
        "received_at_0": "2026-03-06",
        "received_at_1": "09:00:00",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-line_number": "1",
        "lines-0-tariff_code": "0190",
        "lines-0-icd10_codes": "J06.9",
        "lines-0-quantity": "1",
        "lines-0-claimed_amount": "100.00",
        "lines-1-line_number": "2",
        "lines-1-tariff_code": "0190",
        "lines-1-icd10_codes": "J06.9",
        "lines-1-quantity": "1",
        "lines-1-claimed_amount": "25.50",
    }
    response = admin_client.post("/admin/claims/claim/add/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert str(Claim.objects.get(claim_number="C-3").total_claimed) == "125.50"
