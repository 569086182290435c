"""Nonsense cannot be entered (issue 8 §1): the database refuses it, the admin and the API say which field is wrong.

The adjudication refuses such rows too (test_invalid_lines.py), for rows that got in some other way.
"""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal as D

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from claims.models import Claim, ClaimLine, PreAuthorisation, TariffCode
from claims.submission import ClaimSubmissionError, claim_submit
from claims.tests.factories import (
    BenefitCategoryFactory,
    ClaimFactory,
    MemberFactory,
    PlanFactory,
    PreAuthorisationFactory,
    TariffCodeFactory,
    WaitingPeriodFactory,
)
from claims.tests.test_invalid_lines import checks_off
from core.migration_checks import RowsBreakConstraints
from members.models import BenefitCategory, WaitingPeriod

pytestmark = pytest.mark.django_db


def refused(make) -> bool:
    """Whether the database refuses what `make` writes (in a savepoint, so the test goes on)."""
    try:
        with transaction.atomic():
            make()
    except IntegrityError:
        return True
    return False


# --- the database --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"quantity": 0},
        {"claimed_amount": D("0.00")},
        {"claimed_amount": D("-100.00")},
        {"eligible_amount": D("-1.00")},
        {"benefit_amount": D("-90.00"), "eligible_amount": D("100.00")},
        {"copay_amount": D("-10.00")},
    ],
)
def test_the_database_refuses_a_claim_line_that_makes_no_sense(fields):
    claim = ClaimFactory(lines=[])
    assert refused(
        lambda: ClaimLine.objects.create(
            claim=claim, line_number=1, tariff_code="0190", icd10_codes="J06.9", **{"claimed_amount": D("10"), **fields}
        )
    )


def test_the_database_accepts_a_line_cut_by_a_limit():
    claim = ClaimFactory(lines=[])
    line = ClaimLine(
        claim=claim,
        line_number=1,
        tariff_code="0190",
        icd10_codes="J06.9",
        claimed_amount=D("400"),
        eligible_amount=D("400"),
        copay_amount=D("40"),
        benefit_amount=D("100"),
    )
    assert not refused(line.save)


def test_the_database_refuses_negative_claim_totals():
    claim = ClaimFactory()
    assert refused(lambda: Claim.objects.filter(id=claim.id).update(total_benefit=D("-90.00")))


@pytest.mark.parametrize(
    ("factory", "fields"),
    [
        (TariffCodeFactory, {"unit_price": D("0.00")}),
        (TariffCodeFactory, {"unit_price": D("-400.00")}),
        (TariffCodeFactory, {"valid_from": dt.date(2026, 2, 1), "valid_to": dt.date(2026, 1, 31)}),
        (PreAuthorisationFactory, {"authorised_amount": D("0.00")}),
        (PreAuthorisationFactory, {"valid_from": dt.date(2026, 2, 1), "valid_to": dt.date(2026, 1, 31)}),
        (BenefitCategoryFactory, {"copay_percent": D("150")}),
        (BenefitCategoryFactory, {"copay_percent": D("-10")}),
        (BenefitCategoryFactory, {"annual_limit_member": D("-1.00")}),
        (BenefitCategoryFactory, {"annual_limit_family": D("-1.00")}),
        (BenefitCategoryFactory, {"per_event_cap": D("-1.00")}),
        (WaitingPeriodFactory, {"start": dt.date(2026, 2, 1), "end": dt.date(2026, 1, 31)}),
        (WaitingPeriodFactory, {"kind": "condition", "icd10_prefix": ""}),
        (WaitingPeriodFactory, {"kind": "category", "benefit_code": ""}),
    ],
)
def test_the_database_refuses_reference_data_that_makes_no_sense(factory, fields):
    assert refused(lambda: factory(**fields))


@pytest.mark.parametrize(
    ("factory", "fields"),
    [
        (TariffCodeFactory, {"valid_to": None}),
        (TariffCodeFactory, {"valid_from": dt.date(2026, 1, 1), "valid_to": dt.date(2026, 1, 1)}),
        (BenefitCategoryFactory, {"copay_percent": D("100"), "annual_limit_member": D("0"), "per_event_cap": None}),
        (WaitingPeriodFactory, {"kind": "condition", "icd10_prefix": "E11"}),
        (WaitingPeriodFactory, {"kind": "category", "benefit_code": "GP"}),
    ],
)
def test_the_database_accepts_the_edge_cases_that_make_sense(factory, fields):
    assert not refused(lambda: factory(**fields))


# --- the admin -----------------------------------------------------------------------------------


def _claim_form(member, **line) -> dict:
    fields = {
        "line_number": "1",
        "tariff_code": "0190",
        "icd10_codes": "J06.9",
        "quantity": "1",
        "claimed_amount": "100.00",
        **line,
    }
    return {
        "claim_number": "C-NEW",
        "member": member.pk,
        "practice_number": "0123456",
        "service_date": "2026-03-05",
        "received_at_0": "2026-03-06",
        "received_at_1": "09:00:00",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        **{f"lines-0-{name}": value for name, value in fields.items()},
    }


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ({"quantity": "0"}, "quantity", "Enter a whole number from 1."),
        ({"claimed_amount": "-100.00"}, "claimed_amount", "Enter an amount of at least 0.01."),
        ({"claimed_amount": "0.00"}, "claimed_amount", "Enter an amount of at least 0.01."),
    ],
)
def test_the_admin_refuses_a_claim_line_that_makes_no_sense_with_a_field_error(admin_client, line, field, message):
    response = admin_client.post("/admin/claims/claim/add/", _claim_form(MemberFactory(), **line))
    assert response.status_code == 200
    [formset] = [wrapper.formset for wrapper in response.context["inline_admin_formsets"]]
    assert formset.forms[0].errors == {field: [message]}
    assert message in response.content.decode()
    assert not Claim.objects.filter(claim_number="C-NEW").exists()


def test_the_admin_refuses_a_nonsense_line_on_a_pending_claim(admin_client):
    claim = ClaimFactory()
    line = claim.lines.get()
    form = _claim_form(claim.member, id=str(line.pk), claim=str(claim.pk), quantity="0")
    form.update({"claim_number": claim.claim_number, "lines-INITIAL_FORMS": "1"})
    response = admin_client.post(f"/admin/claims/claim/{claim.pk}/change/", form)
    assert response.status_code == 200
    assert "Enter a whole number from 1." in response.content.decode()
    line.refresh_from_db()
    assert line.quantity == 1


@pytest.mark.parametrize(
    ("url", "form", "field", "message"),
    [
        (
            "/admin/claims/tariffcode/add/",
            {"code": "0190", "description": "x", "benefit_code": "GP", "unit_price": "0", "valid_from": "2026-01-01"},
            "unit_price",
            "Enter an amount of at least 0.01.",
        ),
        (
            "/admin/claims/tariffcode/add/",
            {
                "code": "0190",
                "description": "x",
                "benefit_code": "GP",
                "unit_price": "400",
                "valid_from": "2026-01-01",
                "valid_to": "2025-12-31",
            },
            "valid_to",
            "The end of validity cannot be before its start.",
        ),
        (
            "/admin/claims/preauthorisation/add/",
            {
                "reference": "PA-X",
                "benefit_code": "HOSPITAL",
                "authorised_amount": "-5",
                "valid_from": "2026-01-01",
                "valid_to": "2026-02-01",
            },
            "authorised_amount",
            "Enter an amount of at least 0.01.",
        ),
        (
            "/admin/claims/preauthorisation/add/",
            {
                "reference": "PA-X",
                "benefit_code": "HOSPITAL",
                "authorised_amount": "500",
                "valid_from": "2026-01-01",
                "valid_to": "2025-12-01",
            },
            "valid_to",
            "The end of validity cannot be before its start.",
        ),
        (
            "/admin/members/benefitcategory/add/",
            {"code": "GP", "copay_percent": "150"},
            "copay_percent",
            "Enter a percentage from 0 to 100.",
        ),
        (
            "/admin/members/benefitcategory/add/",
            {"code": "GP", "copay_percent": "0", "annual_limit_member": "-1"},
            "annual_limit_member",
            "Enter 0 or more (leave empty for no limit).",
        ),
        (
            "/admin/members/waitingperiod/add/",
            {"kind": "condition", "icd10_prefix": "", "start": "2026-01-01", "end": "2026-03-31"},
            "icd10_prefix",
            "A condition waiting period needs an ICD-10 prefix.",
        ),
        (
            "/admin/members/waitingperiod/add/",
            {"kind": "category", "benefit_code": "", "start": "2026-01-01", "end": "2026-03-31"},
            "benefit_code",
            "A category waiting period needs a benefit code.",
        ),
        (
            "/admin/members/waitingperiod/add/",
            {"kind": "general", "start": "2026-03-01", "end": "2026-01-31"},
            "end",
            "A waiting period cannot end before it starts.",
        ),
    ],
)
def test_the_admin_refuses_reference_data_that_makes_no_sense_with_a_field_error(
    admin_client, url, form, field, message
):
    member, plan = MemberFactory(), PlanFactory(benefits=[])
    form = {**form, "member": member.pk, "plan": plan.pk}
    before = {model: model.objects.count() for model in (TariffCode, PreAuthorisation, BenefitCategory, WaitingPeriod)}
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {field: [message]}
    assert before == {model: model.objects.count() for model in before}


def test_the_admin_refuses_a_nonsense_benefit_in_the_plans_inline(admin_client):
    plan = PlanFactory(benefits=[])
    form = {
        "scheme": plan.scheme_id,
        "code": plan.code,
        "name": plan.name,
        "year": plan.year,
        "effective_from": plan.effective_from.isoformat(),
        "effective_to": plan.effective_to.isoformat(),
        "benefits-TOTAL_FORMS": "1",
        "benefits-INITIAL_FORMS": "0",
        "benefits-MIN_NUM_FORMS": "0",
        "benefits-MAX_NUM_FORMS": "1000",
        "benefits-0-code": "GP",
        "benefits-0-copay_percent": "100.01",
        "benefits-0-per_event_cap": "-5",
    }
    response = admin_client.post(f"/admin/members/plan/{plan.pk}/change/", form)
    assert response.status_code == 200
    [formset] = [wrapper.formset for wrapper in response.context["inline_admin_formsets"]]
    assert formset.forms[0].errors == {
        "copay_percent": ["Enter a percentage from 0 to 100."],
        "per_event_cap": ["Enter 0 or more (leave empty for no limit)."],
    }
    assert not BenefitCategory.objects.filter(plan=plan).exists()


def test_the_admin_refuses_a_nonsense_waiting_period_in_the_members_inline(admin_client):
    member = MemberFactory()
    form = {
        "membership_number": member.membership_number,
        "dependant_code": "00",
        "relationship": "principal",
        "plan": member.plan_id,
        "first_name": "A",
        "last_name": "B",
        "date_of_birth": "1985-06-15",
        "gender": "F",
        "status": "active",
        "status_since": member.status_since.isoformat(),
        "join_date": member.join_date.isoformat(),
        "cover_start": member.cover_start.isoformat(),
        "dependants-TOTAL_FORMS": "0",
        "dependants-INITIAL_FORMS": "0",
        "dependants-MIN_NUM_FORMS": "0",
        "dependants-MAX_NUM_FORMS": "1000",
        "waiting_periods-TOTAL_FORMS": "1",
        "waiting_periods-INITIAL_FORMS": "0",
        "waiting_periods-MIN_NUM_FORMS": "0",
        "waiting_periods-MAX_NUM_FORMS": "1000",
        "waiting_periods-0-kind": "condition",
        "waiting_periods-0-icd10_prefix": "",
        "waiting_periods-0-start": "2026-01-01",
        "waiting_periods-0-end": "2026-03-31",
    }
    response = admin_client.post(f"/admin/members/member/{member.pk}/change/", form)
    assert response.status_code == 200
    formsets = {wrapper.formset.prefix: wrapper.formset for wrapper in response.context["inline_admin_formsets"]}
    assert formsets["waiting_periods"].forms[0].errors == {
        "icd10_prefix": ["A condition waiting period needs an ICD-10 prefix."]
    }
    assert not WaitingPeriod.objects.filter(member=member).exists()


# --- the API and the submission service ----------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"claimed_amount": "-100.00"}, "claimed_amount"),
        ({"claimed_amount": "NaN"}, "claimed_amount"),
        ({"claimed_amount": "Infinity"}, "claimed_amount"),
    ],
)
def test_the_api_refuses_a_nonsense_line_with_a_field_error(admin_user, line, field):
    member = MemberFactory()
    client = APIClient()
    client.force_authenticate(admin_user)
    body = {
        "claim_number": "C-API",
        "membership_number": member.membership_number,
        "dependant_code": "00",
        "practice_number": "0123456",
        "service_date": "2026-03-02",
        "lines": [{"tariff_code": "0190", "icd10_codes": ["J06.9"], "quantity": 1, "claimed_amount": "100.00", **line}],
    }
    response = client.post("/api/claims/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]["lines"]["0"]) == [field]
    assert not Claim.objects.exists()


@pytest.mark.parametrize(("quantity", "amount"), [(0, D("100.00")), (1, D("-100.00")), (1, D("0")), (1, D("NaN"))])
def test_the_submission_service_refuses_a_nonsense_line_without_reaching_the_database(quantity, amount):
    member = MemberFactory()
    data = {
        "claim_number": "C-SVC",
        "membership_number": member.membership_number,
        "dependant_code": "00",
        "practice_number": "0123456",
        "service_date": dt.date(2026, 3, 2),
        "lines": [{"tariff_code": "0190", "icd10_codes": ["J06.9"], "quantity": quantity, "claimed_amount": amount}],
    }
    with pytest.raises(ClaimSubmissionError) as error:
        claim_submit(data=data)
    assert list(error.value.errors) == ["lines"]
    assert not Claim.objects.exists()


# --- the migrations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("migration", "make", "expected"),
    [
        (
            "claims.migrations.0003_valid_amounts",
            lambda: ClaimFactory(
                lines=[
                    {"quantity": 0, "claimed_amount": D("100.00")},
                    {"claimed_amount": D("-100.00")},
                    {"claimed_amount": D("0")},
                ]
            ),
            [
                "table claims_claimline: 1 row(s) break claimline_quantity_positive",
                "table claims_claimline: 2 row(s) break claimline_claimed_positive",
            ],
        ),
        (
            "members.migrations.0002_valid_benefits",
            lambda: (BenefitCategoryFactory(copay_percent=D("150")), WaitingPeriodFactory(kind="condition")),
            [
                "table members_benefitcategory: 1 row(s) break benefit_copay_percent_0_100",
                "table members_waitingperiod: 1 row(s) break waiting_condition_has_icd10",
            ],
        ),
    ],
)
def test_a_migration_names_the_table_and_the_count_of_rows_that_break_its_constraints(migration, make, expected):
    module = importlib.import_module(migration)
    editor = type("Editor", (), {"connection": connection})()
    module.refuse_rows_that_break_the_constraints(apps, editor)  # nothing breaks them yet
    with checks_off(Claim, ClaimLine, BenefitCategory, WaitingPeriod):
        make()
    with pytest.raises(RowsBreakConstraints) as error:
        module.refuse_rows_that_break_the_constraints(apps, editor)
    message = str(error.value)
    assert [line.split(" (")[0].strip() for line in message.splitlines()[1:]] == expected
    assert "Dlamini" not in message and "@" not in message  # counts, never row contents
