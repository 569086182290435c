"""Issue 13, parts 3 and 4: pended claims and the assessor's queue; reversals. Each scenario with the decision an
assessor expects, through the engine, the services, the API and the admin, on rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from claims.adjudication.engine import adjudicate_claims
from claims.adjudication.reasons import Reason
from claims.assessment import claim_assess
from claims.models import BenefitLedger, BulkClaimJob, Claim, ClaimReversal, TariffCode
from claims.reversals import ClaimStateError, claim_reverse
from claims.services import bulk_job_run
from claims.tests.factories import (
    ClaimFactory,
    MemberFactory,
    PlanFactory,
    PreAuthorisationFactory,
    ProviderFactory,
    TariffCodeFactory,
)
from members.models import MembershipPeriod
from notifications.models import Notification
from reports.selectors import report_figures

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheme():
    """GP consultation and injection R400 each (review above R1,000), an admission R3,000 needing a pre-auth, an MRI marked for
    review; a member with an e-mail address on a plan that pays them all."""
    TariffCodeFactory()
    TariffCodeFactory(code="0201", description="Injection", unit_price=D("400.00"))
    TariffCodeFactory(code="1010", description="Admission", benefit_code="HOSPITAL", unit_price=D("3000.00"))
    TariffCodeFactory(code="43000", description="MRI", benefit_code="RADIOLOGY", unit_price=D("9500.00"))
    TariffCode.objects.filter(code="43000").update(requires_review=True)
    plan = PlanFactory(
        benefits={
            "GP": {"review_threshold": D("1000.00"), "annual_limit_member": D("2000.00")},
            "HOSPITAL": {"requires_preauth": True},
            "RADIOLOGY": {},
        }
    )
    member = MemberFactory(plan=plan, email="principal@example.test")
    return member, ProviderFactory().practice_number


def state(claim):
    claim.refresh_from_db()
    lines = claim.lines.order_by("line_number")
    return claim.status, claim.reason_code, [(line.outcome, line.benefit_amount, line.reason_codes) for line in lines]


def ledger_of(claim) -> list[D]:
    return list(BenefitLedger.objects.filter(claim_line__claim=claim).order_by("id").values_list("amount", flat=True))


def emails_of(claim) -> list[tuple[str, str]]:
    rows = Notification.objects.filter(claim=claim).order_by("id")
    return list(rows.values_list("idempotency_key", "subject"))


# --- pended ------------------------------------------------------------------------------------------


def test_each_review_flag_pends_its_claim_with_nothing_paid_and_no_email(scheme):
    member, practice = scheme
    above = ClaimFactory(
        member=member, practice_number=practice, lines=[{}, {"tariff_code": "0201", "quantity": 3}]
    )  # R1,200 > R1,000
    reviewed = ClaimFactory(member=member, practice_number=practice, lines=[{"tariff_code": "43000"}])
    paid = ClaimFactory(member=member, practice_number=practice, service_date=timezone.localdate() - timedelta(days=5))
    adjudicate_claims([paid.id])
    elsewhere = ClaimFactory(member=member, service_date=paid.service_date)  # same service, another provider
    adjudicate_claims([above.id, reviewed.id, elsewhere.id])

    assert state(above) == (
        "pended",
        Reason.PENDED_REVIEW_THRESHOLD,
        [("pending", 0, ""), ("pended", 0, Reason.PENDED_REVIEW_THRESHOLD)],
    )
    assert state(reviewed) == ("pended", Reason.PENDED_TARIFF_REVIEW, [("pended", 0, Reason.PENDED_TARIFF_REVIEW)])
    assert state(elsewhere) == ("pended", Reason.PENDED_NEAR_DUPLICATE, [("pended", 0, Reason.PENDED_NEAR_DUPLICATE)])
    assert [ledger_of(c) for c in (above, reviewed, elsewhere)] == [[], [], []]
    assert [emails_of(c) for c in (above, reviewed, elsewhere)] == [[], [], []]
    assert len(emails_of(paid)) == 1
    # Pended claims are decided only by an assessor: a bulk job counts them as already decided.
    adjudicate_claims([above.id])
    assert state(above)[0] == "pended"


def test_what_a_pended_claims_other_lines_would_have_paid_does_not_count_against_the_next_claim(scheme):
    member, practice = scheme
    yesterday = timezone.localdate() - timedelta(days=1)
    pended = ClaimFactory(
        member=member,
        practice_number=practice,
        service_date=yesterday - timedelta(days=1),
        lines=[{"quantity": 2}, {"tariff_code": "43000"}],  # R800 of GP, then a line for review
    )
    later = ClaimFactory(
        member=member,
        practice_number=practice,
        service_date=yesterday,
        lines=[{"quantity": 2}, {"tariff_code": "0201", "quantity": 2}],  # R1,600 of GP
    )
    adjudicate_claims([later.id, pended.id])  # one chunk, the pended claim decided first
    assert state(pended)[0] == "pended"
    # Had the pended claim's R800 counted, R1,200 of the R2,000 member limit would have been left.
    assert state(later) == ("approved", "", [("approved", D("800.00"), "PAID"), ("approved", D("800.00"), "PAID")])


def test_a_line_the_rules_reject_anyway_is_not_pended(scheme):
    member, practice = scheme
    claim = ClaimFactory(member=member, practice_number=practice, lines=[{"quantity": 3, "icd10_codes": "nonsense"}])
    adjudicate_claims([claim.id])
    assert state(claim) == ("rejected", "", [("rejected", 0, Reason.ICD10_INVALID)])


def test_the_assessor_approves_and_the_claim_is_paid_through_the_same_rules_with_its_email(scheme, role_user):
    member, practice = scheme
    claim = ClaimFactory(member=member, practice_number=practice, lines=[{}, {"tariff_code": "0201", "quantity": 3}])
    adjudicate_claims([claim.id])
    pended_line = claim.lines.get(line_number=2)
    assessor = role_user("claims assessor")

    decided = claim_assess(
        claim_id=claim.id, decisions={pended_line.id: ("approve", "three visits, seen")}, user=assessor
    )

    # R400 + R1,200 against the member's R2,000 GP limit: both paid in full, through the rules.
    assert state(decided) == ("approved", "", [("approved", D("400.00"), "PAID"), ("approved", D("1200.00"), "PAID")])
    assert ledger_of(claim) == [D("400.00"), D("1200.00")]
    pended_line.refresh_from_db()
    assert (pended_line.review, pended_line.review_note, pended_line.reviewed_by) == (
        "approve",
        "three visits, seen",
        assessor,
    )
    assert emails_of(claim) == [(f"claim-decision:{claim.id}", f"Your claim {claim.claim_number} was approved")]


def test_an_approved_line_is_still_held_to_the_limits(scheme):
    member, practice = scheme
    ClaimFactory(member=member, practice_number=practice, lines=[{"quantity": 2}])  # R800 paid first
    adjudicate_claims(Claim.objects.values_list("id", flat=True))
    claim = ClaimFactory(member=member, practice_number=practice, lines=[{"tariff_code": "0190", "quantity": 4}])
    claim.service_date -= timedelta(days=3)
    claim.save()
    adjudicate_claims([claim.id])
    line = claim.lines.get()
    claim_assess(claim_id=claim.id, decisions={line.id: ("approve", "ok")})
    # R1,600 eligible, R1,200 left of the R2,000 member limit.
    assert state(claim) == ("partially_approved", "", [("partial", D("1200.00"), Reason.MEMBER_LIMIT_REACHED)])


def test_the_assessor_rejects_a_line_with_a_note(scheme):
    member, practice = scheme
    claim = ClaimFactory(member=member, practice_number=practice, lines=[{}, {"tariff_code": "43000"}])
    adjudicate_claims([claim.id])
    first, mri = claim.lines.order_by("line_number")
    claim_assess(claim_id=claim.id, decisions={mri.id: ("reject", "not clinically indicated")})
    assert state(claim) == (
        "partially_approved",
        "",
        [("approved", D("400.00"), "PAID"), ("rejected", 0, Reason.ASSESSOR_REJECTED)],
    )
    assert ledger_of(claim) == [D("400.00")]


def test_the_assessment_refuses_what_is_incomplete_or_not_pended(scheme):
    member, practice = scheme
    claim = ClaimFactory(member=member, practice_number=practice, lines=[{}, {"tariff_code": "43000"}])
    adjudicate_claims([claim.id])
    first, mri = claim.lines.order_by("line_number")
    with pytest.raises(ClaimStateError, match="every pended line needs a decision"):
        claim_assess(claim_id=claim.id, decisions={first.id: ("approve", "fine")})
    with pytest.raises(ValueError, match="a note with the decision on line .* is required"):
        claim_assess(claim_id=claim.id, decisions={mri.id: ("approve", "  ")})
    with pytest.raises(ValueError, match="must be one of"):
        claim_assess(claim_id=claim.id, decisions={mri.id: ("pay", "x")})
    assert state(claim)[0] == "pended"  # nothing half-done
    claim_assess(claim_id=claim.id, decisions={mri.id: ("approve", "indicated")})
    with pytest.raises(ClaimStateError, match="not pended"):
        claim_assess(claim_id=claim.id, decisions={mri.id: ("approve", "again")})


def test_bulk_jobs_and_the_daily_report_count_pended_claims(scheme):
    member, practice = scheme
    ids = [
        ClaimFactory(member=member, practice_number=practice).id,
        ClaimFactory(member=member, practice_number=practice, lines=[{"tariff_code": "43000"}]).id,
    ]
    summary = bulk_job_run(claim_ids=ids)
    assert (summary["adjudicated"], summary["approved"], summary["pended"]) == (2, 1, 1)
    assert BulkClaimJob.objects.get(id=summary["job_id"]).pended == 1
    figures = report_figures(day=timezone.now().date())
    assert figures["outcomes"]["pended"]["claims"] == 1 and figures["outcomes"]["approved"]["claims"] == 1


def test_a_claim_left_in_the_queue_too_long_is_a_health_finding(scheme, settings):
    from claims.health import check_pending_claims
    from core.health import HealthFinding

    member, practice = scheme
    claim = ClaimFactory(member=member, practice_number=practice, lines=[{"tariff_code": "43000"}])
    adjudicate_claims([claim.id])
    assert check_pending_claims()["pended"] == 1
    Claim.objects.filter(id=claim.id).update(
        decided_at=timezone.now() - timedelta(days=settings.PENDED_REVIEW_DAYS + 1)
    )
    with pytest.raises(HealthFinding, match="1 claim\\(s\\) waiting for an assessor for longer than 5 days"):
        check_pending_claims()


# --- the admin's work queue ----------------------------------------------------------------------------


def test_the_admin_queue_lists_pended_claims_oldest_first_and_its_form_decides_one(scheme, client, role_user):
    member, practice = scheme
    newer = ClaimFactory(member=member, practice_number=practice, lines=[{"tariff_code": "43000"}])
    older = ClaimFactory(
        member=member,
        practice_number=practice,
        lines=[{"quantity": 3}],
        received_at=timezone.now() - timedelta(days=2),
    )
    ClaimFactory(member=member, practice_number=practice)  # approved: not in the queue
    adjudicate_claims(Claim.objects.values_list("id", flat=True))
    client.force_login(role_user("claims assessor", staff=True))
    queue = reverse("admin:claims_pendedclaim_changelist")

    page = client.get(queue).content.decode()
    assert page.index(older.claim_number) < page.index(newer.claim_number)
    assert Claim.objects.filter(status="approved").get().claim_number not in page
    filtered = client.get(queue, {"pended_for": Reason.PENDED_TARIFF_REVIEW}).content.decode()
    assert newer.claim_number in filtered and older.claim_number not in filtered

    url = reverse("admin:claims_pendedclaim_change", args=[older.id])
    line = older.lines.get()
    assert "Decide the claim" in client.get(url).content.decode()
    no_note = client.post(url, {f"decision_{line.id}": "approve", f"note_{line.id}": ""})
    assert no_note.status_code == 200 and state(older)[0] == "pended"
    response = client.post(url, {f"decision_{line.id}": "approve", f"note_{line.id}": "three levels, fine"})
    assert response.status_code == 302 and response.url == queue
    assert state(older)[0] == "approved"


def test_a_role_without_the_assess_permission_does_not_see_the_queue(scheme, client, role_user):
    client.force_login(role_user("member services", staff=True))
    assert client.get(reverse("admin:claims_pendedclaim_changelist")).status_code == 403


# --- reversals ---------------------------------------------------------------------------------------


def test_a_reversal_appends_reversing_entries_gives_the_budget_back_and_returns_the_claim_to_pending(scheme):
    member, practice = scheme
    preauth = PreAuthorisationFactory(member=member, tariff_code="1010", authorised_amount=D("3000.00"))
    admission = ClaimFactory(member=member, practice_number=practice, lines=[{"tariff_code": "1010"}])
    adjudicate_claims([admission.id])
    assert ledger_of(admission) == [D("3000.00")]

    reversal = claim_reverse(claim_id=admission.id, reason="billed under the wrong member")

    assert state(admission) == ("pending", "", [("pending", 0, "")])
    entries = list(
        BenefitLedger.objects.filter(claim_line__claim=admission)
        .order_by("id")
        .values_list("amount", "preauth_id", "reverses_id", "reversal_id")
    )
    first_id = BenefitLedger.objects.filter(claim_line__claim=admission).order_by("id").first().id
    assert entries == [(D("3000.00"), preauth.id, None, None), (D("-3000.00"), preauth.id, first_id, reversal.id)]
    assert (reversal.round, reversal.previous_status, reversal.previous_benefit) == (1, "approved", D("3000.00"))
    # The budget is whole again: another admission draws all of it.
    other = ClaimFactory(
        member=member,
        practice_number=practice,
        service_date=admission.service_date - timedelta(days=1),
        lines=[{"tariff_code": "1010"}],
    )
    adjudicate_claims([other.id])
    assert state(other)[2] == [("approved", D("3000.00"), "PAID")]
    assert BenefitLedger.objects.filter(preauth=preauth).aggregate(total=Sum("amount"))["total"] == D("3000.00")


def test_reversed_and_decided_again_unchanged_the_ledger_nets_the_same_and_no_second_email(scheme):
    member, practice = scheme
    claim = ClaimFactory(member=member, practice_number=practice, lines=[{}, {"tariff_code": "9999"}])
    adjudicate_claims([claim.id])
    before = state(claim)

    reversal = claim_reverse(claim_id=claim.id, reason="checking", readjudicate=True)

    assert state(claim) == before
    assert ledger_of(claim) == [D("400.00"), D("-400.00"), D("400.00")]  # append-only: the pair and the new one
    reversal.refresh_from_db()
    assert (reversal.new_status, reversal.new_benefit, reversal.outcome_changed) == (
        "partially_approved",
        D("400.00"),
        False,
    )
    assert len(emails_of(claim)) == 1


def test_a_reversal_that_changes_the_outcome_emails_the_member_again(scheme):
    member, practice = scheme
    claim = ClaimFactory(member=member, practice_number=practice)
    adjudicate_claims([claim.id])
    # The membership was wrong: the member was suspended on the service date.
    MembershipPeriod.objects.filter(member=member).delete()
    MembershipPeriod.objects.create(member=member, valid_from=member.cover_start, status="suspended", plan=member.plan)

    claim_reverse(claim_id=claim.id, reason="membership corrected", readjudicate=True)

    assert state(claim) == ("rejected", Reason.MEMBER_NOT_ACTIVE, [("rejected", 0, Reason.MEMBER_NOT_ACTIVE)])
    assert sum(ledger_of(claim)) == 0
    assert emails_of(claim) == [
        (f"claim-decision:{claim.id}", f"Your claim {claim.claim_number} was approved"),
        (f"claim-decision:{claim.id}:1", f"The decision on your claim {claim.claim_number} has changed: rejected"),
    ]
    assert ClaimReversal.objects.get(claim=claim).outcome_changed is True


def test_only_a_decided_claim_can_be_reversed_and_a_reason_is_required(scheme):
    member, practice = scheme
    claim = ClaimFactory(member=member, practice_number=practice)
    with pytest.raises(ClaimStateError, match="only an approved"):
        claim_reverse(claim_id=claim.id, reason="x")
    adjudicate_claims([claim.id])
    with pytest.raises(ValueError, match="reason is required"):
        claim_reverse(claim_id=claim.id, reason="   ")
    assert state(claim)[0] == "approved" and not ClaimReversal.objects.exists()


# --- the API and the admin action ----------------------------------------------------------------------


def test_the_api_reverses_and_assesses_with_the_right_permission(scheme, role_user):
    member, practice = scheme
    approved = ClaimFactory(member=member, practice_number=practice)
    pended = ClaimFactory(member=member, practice_number=practice, lines=[{"tariff_code": "43000"}])
    adjudicate_claims([approved.id, pended.id])
    api = APIClient()
    _, token = role_user("member services", token=True)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    reversal_url = reverse("api:claim-reversal", args=[approved.claim_number])
    assert api.post(reversal_url, {"reason": "x"}, format="json").status_code == 403

    _, token = role_user("claims assessor", token=True)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.post(reversal_url, {"reason": " "}, format="json").status_code == 400
    response = api.post(reversal_url, {"reason": "provider's correction", "readjudicate": False}, format="json")
    assert response.status_code == 200 and (response.json()["status"], response.json()["decision_round"]) == (
        "pending",
        1,
    )
    assert api.post(reversal_url, {"reason": "again"}, format="json").status_code == 422  # pending now

    assessment_url = reverse("api:claim-assessment", args=[pended.claim_number])
    refused = api.post(
        assessment_url, {"lines": [{"line_number": 2, "decision": "approve", "note": "x"}]}, format="json"
    )
    assert refused.status_code == 422
    response = api.post(
        assessment_url, {"lines": [{"line_number": 1, "decision": "reject", "note": "not indicated"}]}, format="json"
    )
    body = response.json()
    assert response.status_code == 200 and body["status"] == "rejected"
    assert (body["lines"][0]["review"], body["lines"][0]["reasons"][0]["code"]) == ("reject", "ASSESSOR_REJECTED")


def test_the_admin_action_asks_for_a_reason_then_reverses(scheme, client, role_user):
    member, practice = scheme
    claim = ClaimFactory(member=member, practice_number=practice)
    adjudicate_claims([claim.id])
    client.force_login(role_user("claims administrator", staff=True))
    changelist = reverse("admin:claims_claim_changelist")
    selected = {"action": "reverse_selected", "_selected_action": [claim.id]}

    asked = client.post(changelist, selected)
    assert asked.status_code == 200 and "Reason (kept with each reversal)" in asked.content.decode()
    assert state(claim)[0] == "approved"
    done = client.post(changelist, {**selected, "confirm": "yes", "reason": "duplicate payment", "readjudicate": ""})
    assert done.status_code == 302
    assert state(claim)[0] == "pending" and ClaimReversal.objects.get(claim=claim).reason == "duplicate payment"


def test_the_roles_hold_the_new_permissions(role_user):
    assessor, administrator = role_user("claims assessor"), role_user("claims administrator")
    operator, auditor = role_user("operator"), role_user("auditor")
    for user in (assessor, administrator):
        assert user.has_perms(["claims.assess_claim", "claims.reverse_claim", "claims.view_claimreversal"])
    assert not operator.has_perm("claims.assess_claim") and not auditor.has_perm("claims.reverse_claim")
    assert auditor.has_perm("claims.view_claimreversal")
