"""Cover that changes over time, and the time and window policy (issue 13), through the engine on rows.

Each scenario is one the issue measured as decided wrongly when only today's state was read, with the
decision an assessor expects: the period in force on the service date decides, whatever the member's
state is on the day the claim is decided.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Count
from rest_framework.test import APIClient

from claims.adjudication.engine import adjudicate_claims
from claims.adjudication.reasons import Reason
from claims.demo import demo_data_seed
from claims.models import BenefitLedger, Claim
from claims.reversals import claim_reverse
from claims.tests.factories import ClaimFactory, DependantFactory, MemberFactory, PlanFactory, ProviderFactory
from members.models import Member, MembershipPeriod
from members.services import family_plan_change, member_today_sync
from providers.models import Provider, ProviderStatusPeriod

pytestmark = pytest.mark.django_db

SAST = ZoneInfo("Africa/Johannesburg")
GP_PRICE = Decimal("400.00")  # the factories' GP consultation


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SAST)


def periods(member: Member, *rows) -> None:
    """(from, to, status, plan) rows for a member, then today's fields from them."""
    for valid_from, valid_to, status, plan in rows:
        MembershipPeriod.objects.create(
            member=member, valid_from=valid_from, valid_to=valid_to, status=status, plan=plan
        )
    member_today_sync(member_ids=[member.id])
    member.refresh_from_db()


def decide(member: Member, service: date, received: datetime, practice: str | None = None) -> Claim:
    claim = ClaimFactory(
        member=member, service_date=service, received_at=received, **({"practice_number": practice} if practice else {})
    )
    adjudicate_claims([claim.id])
    claim.refresh_from_db()
    return claim


def test_a_december_service_decided_in_january_uses_the_december_plan():
    """The member moved from a 0 % co-payment plan to a 20 % one on 1 January: December pays in full."""
    old = PlanFactory(year=2025, benefits={"GP": {"copay_percent": Decimal("0")}})
    new = PlanFactory(year=2026, benefits={"GP": {"copay_percent": Decimal("20")}})
    member = MemberFactory(plan=new, cover_start=date(2024, 1, 1))
    periods(member, (date(2024, 1, 1), date(2025, 12, 31), "active", old), (date(2026, 1, 1), None, "active", new))
    assert member.plan == new  # today's state follows the open period

    december = decide(member, date(2025, 12, 15), local(2026, 1, 10, 9, 0))
    assert (december.status, december.total_copay, december.total_benefit) == ("approved", 0, GP_PRICE)
    january = decide(member, date(2026, 1, 5), local(2026, 1, 10, 9, 0))
    assert (january.status, january.total_copay, january.total_benefit) == ("approved", 80, 320)
    assert sorted(BenefitLedger.objects.values_list("benefit_year", "amount")) == [(2025, 400), (2026, 320)]


def test_a_service_during_a_suspension_is_rejected_after_reinstatement():
    plan = PlanFactory()
    member = MemberFactory(plan=plan, cover_start=date(2024, 1, 1))
    periods(
        member,
        (date(2024, 1, 1), date(2026, 2, 28), "active", plan),
        (date(2026, 3, 1), date(2026, 3, 31), "suspended", plan),
        (date(2026, 4, 1), None, "active", plan),
    )
    assert member.status == Member.Status.ACTIVE  # reinstated: today's state

    during = decide(member, date(2026, 3, 15), local(2026, 4, 10, 9, 0))
    assert (during.status, during.reason_code, during.total_benefit) == ("rejected", Reason.MEMBER_NOT_ACTIVE, 0)
    before = decide(member, date(2026, 2, 27), local(2026, 4, 10, 9, 0))
    after = decide(member, date(2026, 4, 1), local(2026, 4, 10, 9, 0))
    assert (before.status, after.status) == ("approved", "approved")


def test_a_dependants_claim_after_the_principals_cover_was_terminated_is_rejected():
    plan = PlanFactory()
    principal = MemberFactory(plan=plan, cover_start=date(2024, 1, 1), cover_end=date(2026, 5, 31))
    child = DependantFactory(principal=principal, cover_start=date(2024, 1, 1))
    periods(
        principal, (date(2024, 1, 1), date(2026, 5, 31), "active", plan), (date(2026, 6, 1), None, "terminated", plan)
    )
    periods(child, (date(2024, 1, 1), None, "active", plan))  # the child's own record was never closed
    assert (principal.status, child.status) == (Member.Status.TERMINATED, Member.Status.ACTIVE)

    after = decide(child, date(2026, 6, 10), local(2026, 6, 20, 9, 0))
    assert (after.status, after.reason_code, after.total_benefit) == ("rejected", Reason.MEMBER_NOT_ACTIVE, 0)
    before = decide(child, date(2026, 5, 20), local(2026, 6, 20, 9, 0))
    assert before.status == "approved"


def test_a_dependant_on_a_different_plan_from_the_principal_is_refused_at_data_entry():
    principal = MemberFactory()
    other = PlanFactory()
    child = DependantFactory.build(principal=principal, plan=other, dependant_code="01")
    with pytest.raises(ValidationError) as refused:
        child.full_clean()  # what the admin's form runs
    assert "principal member's plan option" in str(refused.value.message_dict["plan"])

    child = DependantFactory(principal=principal)
    MembershipPeriod.objects.create(member=principal, valid_from=date(2024, 1, 1), plan=principal.plan)
    period = MembershipPeriod(member=child, valid_from=date(2025, 1, 1), plan=other)
    with pytest.raises(ValidationError) as refused:
        period.full_clean()
    assert "plan" in refused.value.message_dict
    principal.plan = other  # nor can the principal move alone
    with pytest.raises(ValidationError):
        principal.full_clean()


def test_a_family_changes_plan_together_from_a_date():
    old, new = PlanFactory(), PlanFactory()
    principal = MemberFactory(plan=old, cover_start=date(2024, 1, 1))
    child = DependantFactory(principal=principal, cover_start=date(2024, 1, 1))
    for member in (principal, child):
        periods(member, (date(2024, 1, 1), None, "active", old))
    family_plan_change(principal=principal, plan=new, effective_from=date(2025, 1, 1))
    for member in (principal, child):
        member.refresh_from_db()
        rows = list(member.periods.order_by("valid_from").values_list("valid_from", "valid_to", "plan_id"))
        assert rows == [(date(2024, 1, 1), date(2024, 12, 31), old.id), (date(2025, 1, 1), None, new.id)]
        assert member.plan == new


def test_a_provider_suspended_from_a_date_is_paid_for_services_before_it():
    provider = ProviderFactory(status=Provider.Status.SUSPENDED)
    ProviderStatusPeriod.objects.create(provider=provider, valid_from=date(2026, 3, 1), status="suspended")
    member = MemberFactory(cover_start=date(2024, 1, 1))
    before = decide(member, date(2026, 2, 20), local(2026, 3, 10, 9, 0), provider.practice_number)
    during = decide(member, date(2026, 3, 5), local(2026, 3, 10, 9, 0), provider.practice_number)
    assert before.status == "approved"
    assert (during.status, during.reason_code) == ("rejected", Reason.PROVIDER_SUSPENDED)


def test_a_claim_received_at_half_past_midnight_local_time_for_that_days_service_is_not_from_the_future():
    member = MemberFactory()
    received = local(2026, 3, 10, 0, 30)
    assert received.astimezone(UTC).date() == date(2026, 3, 9)  # still the day before in UTC
    claim = decide(member, date(2026, 3, 10), received)
    assert (claim.status, claim.reason_code) == ("approved", "")
    early = decide(member, date(2026, 3, 11), local(2026, 3, 10, 23, 30))  # 21:30 UTC, 10 March locally too
    assert early.reason_code == Reason.SERVICE_DATE_IN_FUTURE


@pytest.mark.parametrize(
    ("policy", "received", "expected"),
    [
        # Service on 15 March: regulation 6 closes the window at the end of July (the fourth month after March).
        ("regulation6", local(2026, 7, 31, 23, 59), ""),
        ("regulation6", local(2026, 8, 1, 0, 1), Reason.CLAIM_WINDOW_EXPIRED),
        # 120 days after 15 March is 13 July.
        ("days", local(2026, 7, 13, 23, 59), ""),
        ("days", local(2026, 7, 14, 0, 1), Reason.CLAIM_WINDOW_EXPIRED),
    ],
)
def test_the_claim_window_closes_where_its_policy_says(settings, policy, received, expected):
    settings.CLAIM_WINDOW_POLICY = policy
    claim = decide(MemberFactory(cover_start=date(2024, 1, 1)), date(2026, 3, 15), received)
    assert claim.reason_code == expected
    assert claim.status == ("rejected" if expected else "approved")


def test_regulation_six_closes_at_the_end_of_the_fourth_month_across_the_year_end(settings):
    settings.CLAIM_WINDOW_POLICY = "regulation6"
    member = MemberFactory(cover_start=date(2024, 1, 1))
    assert decide(member, date(2025, 12, 31), local(2026, 4, 30, 12, 0)).status == "approved"
    assert decide(member, date(2025, 12, 30), local(2026, 5, 1, 0, 0)).reason_code == Reason.CLAIM_WINDOW_EXPIRED


def test_the_api_shows_a_members_history(admin_user):
    old, new = PlanFactory(year=2025), PlanFactory(year=2026)
    member = MemberFactory(plan=new, cover_start=date(2024, 1, 1))
    periods(member, (date(2024, 1, 1), date(2025, 12, 31), "active", old), (date(2026, 1, 1), None, "active", new))
    client = APIClient()
    client.force_authenticate(admin_user)
    body = client.get(f"/api/members/{member.membership_number}-00/balances/").json()
    assert [(p["valid_from"], p["valid_to"], p["status"], p["plan"]["year"]) for p in body["periods"]] == [
        ("2024-01-01", "2025-12-31", "active", 2025),
        ("2026-01-01", None, "active", 2026),
    ]


def test_the_admin_shows_the_periods_of_a_member_and_a_provider(admin_client):
    plan = PlanFactory()
    member = MemberFactory(plan=plan, cover_start=date(2024, 1, 1))
    periods(member, (date(2024, 1, 1), None, "active", plan))
    page = admin_client.get(f"/admin/members/member/{member.id}/change/")
    assert page.status_code == 200
    assert b"Membership periods" in page.content and b'name="periods-0-valid_from"' in page.content
    provider = ProviderFactory()
    ProviderStatusPeriod.objects.create(provider=provider, valid_from=date(2026, 3, 1), status="suspended")
    page = admin_client.get(f"/admin/providers/provider/{provider.id}/change/")
    assert page.status_code == 200 and b'name="status_periods-0-valid_from"' in page.content


def test_the_demo_data_has_history_for_more_than_a_tenth_of_the_members_and_todays_state_follows_it():
    today = date(2026, 2, 10)  # the boundary is in the claims' range: December services meet January receipts
    counts = demo_data_seed(members=400, claims=300, today=today)
    members = Member.objects.count()
    with_history = Member.objects.annotate(n=Count("periods")).filter(n__gt=1).count()
    assert counts["members_with_history"] == with_history >= members / 10
    assert not Member.objects.filter(periods__isnull=True).exists()
    assert MembershipPeriod.objects.filter(status="suspended", valid_to__isnull=False).exists()  # reinstated
    assert (
        MembershipPeriod.objects.filter(plan__year=2025).exists()
        and member_today_sync(member_ids=Member.objects.values_list("id", flat=True), today=today) == 0
    )  # today's plan and status are the periods' in force today
    for member in Member.objects.prefetch_related("periods"):
        rows = [(p.valid_from, p.valid_to) for p in member.periods.all()]
        assert all(
            end is not None and end < start for (_, end), (start, _) in zip(rows, rows[1:], strict=False)
        )  # no overlap


def decide_all(members, days) -> list[str]:
    """One claim per member and day, at a new practice, decided in one call; their reason codes."""
    practice = ProviderFactory().practice_number
    claims = [
        ClaimFactory(member=m, service_date=day, received_at=local(2026, 5, 20, 9, 0), practice_number=practice)
        for m in members
        for day in days
    ]
    adjudicate_claims([claim.id for claim in claims])
    return [Claim.objects.get(id=claim.id).reason_code for claim in claims]


def test_the_data_migration_gives_each_member_periods_that_decide_every_date_as_before():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("members.migrations.0005_membership_periods_from_today")
    plan = PlanFactory()
    active = MemberFactory(plan=plan, cover_start=date(2024, 1, 1))
    suspended = MemberFactory(
        plan=plan, cover_start=date(2024, 1, 1), status="suspended", status_since=date(2026, 3, 1)
    )
    terminated = MemberFactory(
        plan=plan,
        cover_start=date(2024, 1, 1),
        cover_end=date(2026, 4, 30),
        status="terminated",
        status_since=date(2026, 5, 1),
    )
    days = [date(2026, 2, 28), date(2026, 3, 1), date(2026, 4, 30), date(2026, 5, 1)]
    before = decide_all([active, suspended, terminated], days)
    migration.create_periods(apps, None)
    assert list(suspended.periods.values_list("valid_from", "valid_to", "status")) == [
        (date(2024, 1, 1), date(2026, 2, 28), "active"),
        (date(2026, 3, 1), None, "suspended"),
    ]
    assert active.periods.count() == 1 and terminated.periods.count() == 2
    claims = Claim.objects.filter(member__in=[active, suspended, terminated]).order_by("id")
    for claim in claims:  # the same claims, decided again by the periods (issue 13: a reversal)
        claim_reverse(claim_id=claim.id, reason="decided again by the membership periods")
    adjudicate_claims(list(claims.values_list("id", flat=True)))
    after = list(claims.values_list("reason_code", flat=True))
    assert after == before
    not_active = Reason.MEMBER_NOT_ACTIVE
    assert before[4:] == ["", not_active, not_active, not_active, "", "", "", not_active]


def test_the_admin_closes_a_period_and_opens_the_next_in_one_save_but_refuses_an_overlap():
    from django.forms.models import inlineformset_factory

    from members.admin import MembershipPeriodFormSet

    plan = PlanFactory()
    member = MemberFactory(plan=plan, cover_start=date(2024, 1, 1))
    open_period = MembershipPeriod.objects.create(member=member, valid_from=date(2024, 1, 1), plan=plan)
    Periods = inlineformset_factory(
        Member,
        MembershipPeriod,
        formset=MembershipPeriodFormSet,
        fields=("valid_from", "valid_to", "status", "plan"),
        extra=1,
    )

    def submit(first_ends: str) -> MembershipPeriodFormSet:
        data = {
            "periods-TOTAL_FORMS": "2",
            "periods-INITIAL_FORMS": "1",
            "periods-0-id": str(open_period.id),
            "periods-0-member": str(member.id),
            "periods-0-valid_from": "2024-01-01",
            "periods-0-valid_to": first_ends,
            "periods-0-status": "active",
            "periods-0-plan": str(plan.id),
            "periods-1-member": str(member.id),
            "periods-1-valid_from": "2026-03-01",
            "periods-1-valid_to": "",
            "periods-1-status": "suspended",
            "periods-1-plan": str(plan.id),
        }
        return Periods(data, instance=member, prefix="periods")

    assert not submit("").is_valid()  # the first one still open: they would overlap
    formset = submit("2026-02-28")
    assert formset.is_valid(), formset.errors
    formset.save()
    member_today_sync(member_ids=[member.id], today=date(2026, 3, 15))
    member.refresh_from_db()
    assert (member.status, member.status_since) == ("suspended", date(2026, 3, 1))
