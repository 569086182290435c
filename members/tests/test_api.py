"""A member's benefit balances: limits, and what the ledger says the member and the family used."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from claims.models import BenefitLedger, Claim, ClaimLine
from members.models import BenefitCategory, Member, Plan, Scheme

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def family():
    """A principal and a child on a plan with a GP limit (member and family), optical (family only), dentistry."""
    scheme = Scheme.objects.create(code="MED", name="MedAid")
    plan = Plan.objects.create(
        scheme=scheme,
        code="CLASSIC",
        name="Classic",
        year=2026,
        effective_from=dt.date(2026, 1, 1),
        effective_to=dt.date(2026, 12, 31),
    )
    BenefitCategory.objects.create(plan=plan, code="GP", annual_limit_member=1000, annual_limit_family=3000)
    BenefitCategory.objects.create(plan=plan, code="OPTICAL", annual_limit_member=None, annual_limit_family=2000)
    BenefitCategory.objects.create(plan=plan, code="DENTISTRY")  # unlimited
    common = {
        "plan": plan,
        "date_of_birth": dt.date(1980, 1, 1),
        "status_since": dt.date(2020, 1, 1),
        "join_date": dt.date(2020, 1, 1),
        "cover_start": dt.date(2020, 1, 1),
    }
    principal = Member.objects.create(membership_number="AB-77", first_name="Thandi", last_name="N", **common)
    child = Member.objects.create(
        membership_number="AB-77",
        dependant_code="01",
        principal=principal,
        relationship="child",
        first_name="Sipho",
        last_name="N",
        **common,
    )
    return principal, child


def used(member: Member, code: str, amount: str, year: int = 2026) -> None:
    """One ledger row, as the adjudication writes it for a paid line (family = the principal)."""
    claim = Claim.objects.create(
        claim_number=f"C{Claim.objects.count() + 1}",
        member=member,
        practice_number="1",
        service_date=dt.date(year, 3, 1),
        received_at=timezone.now(),
        status="approved",
    )
    line = ClaimLine.objects.create(
        claim=claim,
        line_number=1,
        tariff_code="0190",
        icd10_codes="J06.9",
        claimed_amount=amount,
        benefit_amount=amount,
        outcome="approved",
    )
    BenefitLedger.objects.create(
        member=member,
        family_id=member.family_id,
        benefit_code=code,
        benefit_year=year,
        claim_line=line,
        amount=Decimal(amount),
    )


def balances(api, member: str, **query) -> dict:
    response = api.get(f"/api/members/{member}/balances/", query)
    assert response.status_code == 200, response.json()
    return {row["benefit_code"]: row for row in response.json()["balances"]}


def test_it_sums_the_ledger_for_the_member_and_for_the_family(api, family):
    principal, child = family
    used(principal, "GP", "300.00")
    used(child, "GP", "500.00")
    used(child, "GP", "150.25")
    used(child, "OPTICAL", "250.00")
    used(principal, "GP", "999.00", year=2025)  # another benefit year

    gp = balances(api, "AB-77-01", year=2026)["GP"]
    assert gp == {
        "benefit_code": "GP",
        "description": "General practitioner",
        "member_limit": "1000.00",
        "used_by_member": "650.25",
        "remaining_for_member": "349.75",
        "family_limit": "3000.00",
        "used_by_family": "950.25",
        "remaining_for_family": "2049.75",
    }
    gp = balances(api, "AB-77-00", year=2026)["GP"]
    assert (gp["used_by_member"], gp["remaining_for_member"], gp["used_by_family"]) == ("300.00", "700.00", "950.25")


def test_a_missing_limit_is_unlimited(api, family):
    used(family[1], "OPTICAL", "250.00")
    rows = balances(api, "AB-77-01", year=2026)
    optical, dentistry = rows["OPTICAL"], rows["DENTISTRY"]
    assert (optical["member_limit"], optical["remaining_for_member"]) == (None, None)
    assert (optical["used_by_member"], optical["remaining_for_family"]) == ("250.00", "1750.00")
    assert dentistry == {
        "benefit_code": "DENTISTRY",
        "description": "Dentistry",
        "member_limit": None,
        "used_by_member": "0.00",
        "remaining_for_member": None,
        "family_limit": None,
        "used_by_family": "0.00",
        "remaining_for_family": None,
    }


def test_a_used_up_limit_leaves_nothing_not_less(api, family):
    used(family[0], "GP", "1200.00")  # booked under an older, higher limit
    gp = balances(api, "AB-77-00", year=2026)["GP"]
    assert (gp["used_by_member"], gp["remaining_for_member"]) == ("1200.00", "0.00")


def test_it_reports_the_current_benefit_year_by_default(api, family):
    this_year = timezone.localdate().year
    used(family[0], "GP", "100.00", year=this_year)
    response = api.get("/api/members/AB-77-00/balances/")
    assert response.status_code == 200
    body = response.json()
    assert body["benefit_year"] == this_year
    assert (body["membership_number"], body["dependant_code"]) == ("AB-77", "00")
    assert body["plan"] == {"code": "CLASSIC", "name": "Classic", "year": 2026}
    assert {row["benefit_code"]: row["used_by_member"] for row in body["balances"]}["GP"] == "100.00"


def test_an_unknown_member_is_404(api, family):
    assert api.get("/api/members/AB-77-05/balances/").status_code == 404
    assert api.get("/api/members/ZZ-00/balances/").status_code == 404


@pytest.mark.parametrize("year", ["last", "1066", "20260", ""])
def test_a_bad_year_is_400(api, family, year):
    response = api.get("/api/members/AB-77-00/balances/", {"year": year})
    assert response.status_code == 400
    assert "year" in response.json()["errors"]


def test_an_unknown_query_parameter_is_400_not_ignored(api, family):
    response = api.get("/api/members/AB-77-00/balances/", {"yaer": "2025"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"yaer": ["Not a query parameter of this operation (it takes: year)."]}


def test_balances_are_not_for_anonymous_callers(family):
    assert APIClient().get("/api/members/AB-77-00/balances/").status_code == 401
