"""A benefit year's balances are measured against the plan option in force in that year, not today's (issue 13)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from claims.selectors import member_balances, member_plan_in_year
from claims.tests.factories import DependantFactory, MemberFactory, PlanFactory
from members.models import Member, MembershipPeriod
from members.services import family_plan_change, member_today_sync

pytestmark = pytest.mark.django_db


def gp_limits(member_limit: str, family_limit: str) -> dict:
    return {"GP": {"annual_limit_member": Decimal(member_limit), "annual_limit_family": Decimal(family_limit)}}


@pytest.fixture
def moved_family():
    """A principal and a child on plan A in 2025 who moved together to plan B on 1 January 2026."""
    plan_a = PlanFactory(code="A", year=2025, benefits=gp_limits("1000", "3000"))
    plan_b = PlanFactory(code="B", year=2026, benefits=gp_limits("2500", "6000"))
    principal = MemberFactory(plan=plan_a, cover_start=date(2024, 1, 1))
    child = DependantFactory(principal=principal, plan=plan_a, cover_start=date(2024, 1, 1))
    for member in (principal, child):
        MembershipPeriod.objects.create(member=member, valid_from=date(2024, 1, 1), plan=plan_a)
    family_plan_change(principal=principal, plan=plan_b, effective_from=date(2026, 1, 1))
    principal.refresh_from_db()
    child.refresh_from_db()
    return principal, child, plan_a, plan_b


def gp(member: Member, year: int):
    return next(b for b in member_balances(member=member, year=year) if b.benefit_code == "GP")


def test_last_years_balances_show_last_years_plan_and_this_years_show_the_new_one(moved_family):
    principal, child, plan_a, plan_b = moved_family
    assert principal.plan == plan_b  # today's plan is B: the old code showed B's limits for 2025 as well
    for member in (principal, child):
        assert (gp(member, 2025).member_limit, gp(member, 2025).family_limit) == (Decimal("1000"), Decimal("3000"))
        assert (gp(member, 2026).member_limit, gp(member, 2026).family_limit) == (Decimal("2500"), Decimal("6000"))
        assert member_plan_in_year(member=member, year=2025) == plan_a
        assert member_plan_in_year(member=member, year=2026) == plan_b


def test_the_api_says_which_plan_the_limits_come_from(moved_family, admin_user):
    principal, child, plan_a, plan_b = moved_family
    client = APIClient()
    client.force_authenticate(admin_user)
    url = f"/api/members/{child.membership_number}-{child.dependant_code}/balances/"

    past = client.get(url, {"year": 2025}).json()
    assert (past["benefit_year"], past["benefit_year_plan"]["code"], past["plan"]["code"]) == (2025, "A", "B")
    assert [(b["benefit_code"], b["member_limit"], b["family_limit"]) for b in past["balances"]] == [
        ("GP", "1000.00", "3000.00")
    ]
    current = client.get(url, {"year": 2026}).json()
    assert (current["benefit_year_plan"]["code"], current["benefit_year_plan"]["year"]) == ("B", 2026)
    assert [(b["member_limit"], b["family_limit"]) for b in current["balances"]] == [("2500.00", "6000.00")]


def test_a_year_whose_cover_ended_early_uses_the_plan_of_its_last_covered_day():
    """Cover ended in June 2025 and the terminated period carries another plan: June's plan is the year's."""
    june, later = PlanFactory(code="JUNE", year=2025), PlanFactory(code="LATER", year=2025)
    member = MemberFactory(plan=later, cover_start=date(2024, 1, 1), cover_end=date(2025, 6, 30))
    MembershipPeriod.objects.create(member=member, valid_from=date(2024, 1, 1), valid_to=date(2025, 6, 30), plan=june)
    MembershipPeriod.objects.create(member=member, valid_from=date(2025, 7, 1), status="terminated", plan=later)
    member_today_sync(member_ids=[member.id])
    member.refresh_from_db()
    assert member_plan_in_year(member=member, year=2025) == june


def test_a_dependant_without_periods_of_its_own_follows_the_principals_history(moved_family):
    principal, child, plan_a, plan_b = moved_family
    newborn = DependantFactory(principal=principal, plan=plan_b, dependant_code="02")
    assert member_plan_in_year(member=newborn, year=2025) == plan_a
    assert member_plan_in_year(member=newborn, year=2026) == plan_b


def test_a_year_without_any_period_falls_back_to_todays_plan(moved_family):
    principal, _, _, plan_b = moved_family
    assert member_plan_in_year(member=principal, year=2019) == plan_b  # before the history begins
    no_history = MemberFactory()
    assert member_plan_in_year(member=no_history, year=2025) == no_history.plan
