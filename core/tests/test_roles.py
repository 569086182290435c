"""Roles (issue 10): the groups the migration makes, and what each may do on the API and in the admin.

The table here is the README's "Security" table; the migration is checked against it, not copied from it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
from types import SimpleNamespace

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from claims.models import BulkClaimJob, Claim, ClaimLine
from members.models import Member, Plan, Scheme
from reports.models import DailyReport

pytestmark = pytest.mark.django_db

ROLES = ("claims assessor", "claims administrator", "operator", "member services", "auditor")

# name -> (method, url, the permission it needs)
ENDPOINTS = {
    "claims list": ("get", "/api/claims/", "claims.view_claim"),
    "claim submit": ("post", "/api/claims/", "claims.add_claim"),
    "claims batch": ("post", "/api/claims/batch/", "claims.add_claim"),
    "claim detail": ("get", "/api/claims/R-1/", "claims.view_claim"),
    "bulk job start": ("post", "/api/bulk-jobs/", "claims.add_bulkclaimjob"),
    "bulk job detail": ("get", "/api/bulk-jobs/{job}/", "claims.view_bulkclaimjob"),
    "member balances": ("get", "/api/members/20001-00/balances/", "members.view_member"),
    "plans": ("get", "/api/plans/", "members.view_plan"),
    "tariffs": ("get", "/api/tariffs/", "claims.view_tariffcode"),
    "reports": ("get", "/api/reports/", "reports.view_dailyreport"),
    "report detail": ("get", "/api/reports/2026-11-30/", "reports.view_dailyreport"),
}
READS = {name for name, (method, _, _) in ENDPOINTS.items() if method == "get"}
ALLOWED = {
    "claims assessor": set(ENDPOINTS),
    "claims administrator": set(ENDPOINTS),
    "operator": {"bulk job detail"},
    "member services": {"claims list", "claim detail", "member balances"},
    "auditor": READS,
}


@pytest.fixture
def data():
    scheme = Scheme.objects.create(code="RLS", name="Roles")
    plan = Plan.objects.create(
        scheme=scheme,
        code="BASIC",
        name="Basic",
        year=2026,
        effective_from=dt.date(2026, 1, 1),
        effective_to=dt.date(2026, 12, 31),
    )
    member = Member.objects.create(
        membership_number="20001",
        first_name="Lerato",
        last_name="M",
        plan=plan,
        date_of_birth=dt.date(1980, 1, 1),
        status_since=dt.date(2020, 1, 1),
        join_date=dt.date(2020, 1, 1),
        cover_start=dt.date(2020, 1, 1),
    )
    claim = Claim.objects.create(
        claim_number="R-1",
        member=member,
        practice_number="0123456",
        service_date=dt.date(2026, 3, 1),
        received_at=timezone.now(),
        total_claimed=100,
    )
    ClaimLine.objects.create(claim=claim, line_number=1, tariff_code="0190", icd10_codes="F32.1", claimed_amount=100)
    DailyReport.objects.create(day=dt.date(2026, 11, 30), generated_at=timezone.now())
    return {"job": BulkClaimJob.objects.create(requested=1, total=1).id}


@pytest.fixture
def client_for(role_user):
    """client_for(*roles): an API client with the token of a user in those roles."""

    def make(*roles: str) -> APIClient:
        _, key = role_user(*roles, token=True)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


def call(client, name, data):
    method, url, _ = ENDPOINTS[name]
    url = url.format(**data)
    return client.get(url) if method == "get" else client.post(url, {}, format="json")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_only_its_endpoints(role, data, client_for):
    client = client_for(role)
    for name in ENDPOINTS:
        response = call(client, name, data)
        if name in ALLOWED[role]:
            # a read answers; a write gets past the permission to the (empty) body's validation
            assert response.status_code == (200 if name in READS else 400), (role, name, response.content)
        else:
            assert response.status_code == 403, (role, name, response.status_code)
            assert set(response.json()) == {"detail"} and ENDPOINTS[name][2] in response.json()["detail"]


def test_a_user_with_no_permission_gets_403_everywhere_and_sees_no_row(data, client_for):
    client = client_for()
    for name in ENDPOINTS:
        response = call(client, name, data)
        assert response.status_code == 403, name
        assert "F32.1" not in response.content.decode() and "20001" not in response.content.decode()


def test_anonymous_is_still_401(data):
    for name in ENDPOINTS:
        assert call(APIClient(), name, data).status_code == 401, name


def test_an_assessor_sees_the_diagnoses(data, client_for):
    body = client_for("claims assessor").get("/api/claims/R-1/").json()
    assert body["lines"][0]["icd10_codes"] == ["F32.1"]


def test_the_permission_not_the_role_decides(data, role_user):
    user = role_user()
    user.user_permissions.add(Permission.objects.get(content_type__app_label="members", codename="view_member"))
    client = APIClient()
    client.force_authenticate(user)
    assert client.get("/api/members/20001-00/balances/").status_code == 200
    assert client.get("/api/claims/").status_code == 403


def perms(role: str) -> set[str]:
    return {
        f"{app}.{code}"
        for app, code in Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename")
    }


def test_the_groups_exist_after_migrate_with_their_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    assert perms("claims assessor") == {
        "claims.view_claim",
        "claims.add_claim",
        "claims.change_claim",
        "claims.view_claimline",
        "claims.view_tariffcode",
        "claims.view_preauthorisation",
        "claims.view_benefitledger",
        "claims.view_bulkclaimjob",
        "claims.add_bulkclaimjob",
        "members.view_member",
        "members.view_plan",
        "providers.view_provider",
        "reports.view_dailyreport",
        "claims.assess_claim",  # issue 13: the assessor's queue and reversals (claims 0010)
        "claims.reverse_claim",
        "claims.view_claimreversal",
    }
    assert perms("member services") == {
        "members.view_member",
        "members.change_member",
        "notifications.view_notification",
        "notifications.add_notification",
        "notifications.change_notification",
        "claims.view_claim",
        "claims.view_claimreversal",
    }
    administrator = perms("claims administrator")
    for app in ("claims", "members", "providers"):
        every = {
            f"{app}.{code}"
            for code in Permission.objects.filter(content_type__app_label=app).values_list("codename", flat=True)
        }
        assert every and every <= administrator, app
    operator = perms("operator")
    assert {p.split(".")[0] for p in operator} == {
        "django_celery_beat",
        "django_celery_results",
        "broker",
        "core",
        "axes",
        "claims",
    }
    assert {p for p in operator if p.startswith("claims.")} == {"claims.view_bulkclaimjob"}  # no personal data
    assert {
        "django_celery_beat.change_periodictask",
        "axes.delete_accessattempt",
        "broker.view_deadletter",
        "core.view_beatlock",
        "django_celery_results.view_taskresult",
    } <= operator
    auditor = perms("auditor")
    assert all(p.split(".")[1].startswith("view_") for p in auditor)
    others = set().union(*(perms(role) for role in ROLES if role != "auditor"))
    assert auditor == {p for p in others if p.split(".")[1].startswith("view_")}


def test_an_admins_edit_to_a_group_survives_and_a_missing_group_comes_back():
    migration = importlib.import_module("core.migrations.0005_roles")
    operator = Group.objects.get(name="operator")
    operator.permissions.set([Permission.objects.get(codename="view_periodictask")])
    Group.objects.filter(name="auditor").delete()
    migration.roles_create(global_apps, SimpleNamespace(connection=connection))
    assert perms("operator") == {"django_celery_beat.view_periodictask"}
    assert "members.view_member" in perms("auditor")


def test_a_grant_adds_to_the_groups_that_exist_and_names_a_missing_permission():
    from core.migration_grants import groups_grant

    operator = Group.objects.get(name="operator")
    operator.permissions.set([Permission.objects.get(codename="view_periodictask")])
    groups_grant(
        global_apps,
        connection.alias,
        {"operator": [("core", "view_beatlock")], "no such role": [("claims", "view_claim")]},
    )
    assert perms("operator") == {"django_celery_beat.view_periodictask", "core.view_beatlock"}  # nothing removed
    assert not Group.objects.filter(name="no such role").exists()
    with pytest.raises(LookupError, match=r"claims\.view_nothing"):
        groups_grant(global_apps, connection.alias, {"no such role": [("claims", "view_nothing")]})


def test_an_operator_in_the_admin_sees_no_claims_or_members(client, role_user):
    user = role_user("operator", staff=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/admin/claims/claim/").status_code == 403
    assert client.get("/admin/members/member/").status_code == 403
    assert client.get("/admin/notifications/notification/").status_code == 403
    assert client.get("/admin/django_celery_beat/periodictask/").status_code == 200
    index = client.get("/admin/").content.decode()
    assert "/admin/claims/claim/" not in index and "/admin/members/member/" not in index
    assert "/admin/claims/bulkclaimjob/" in index


def test_seed_demo_data_makes_one_staff_user_per_role_once(monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-1")
    out = io.StringIO()
    call_command("seed_demo_data", "--members", "5", "--claims", "5", stdout=out)
    assert "demo-assessor" in out.getvalue() and "demo-pass-1" not in out.getvalue()
    users = {u.username: u for u in User.objects.filter(username__startswith="demo-")}
    assert {name: list(u.groups.values_list("name", flat=True)) for name, u in users.items()} == {
        "demo-assessor": ["claims assessor"],
        "demo-administrator": ["claims administrator"],
        "demo-operator": ["operator"],
        "demo-member-services": ["member services"],
        "demo-auditor": ["auditor"],
    }
    assert all(u.is_staff and not u.is_superuser and u.check_password("demo-pass-1") for u in users.values())

    monkeypatch.delenv("DEMO_PASSWORD")
    out = io.StringIO()
    call_command("seed_demo_data", "--members", "5", "--claims", "5", "--if-empty", stdout=out)
    assert "Demo users" not in out.getvalue()  # nothing new, no password printed
    assert User.objects.filter(username__startswith="demo-").count() == 5
    assert User.objects.get(username="demo-auditor").check_password("demo-pass-1")  # kept


def test_without_demo_password_a_random_one_is_printed_once():
    from claims.demo.users import demo_users_ensure

    created, password = demo_users_ensure()
    assert len(created) == 5 and len(password) >= 12
    assert User.objects.get(username="demo-operator").check_password(password)
    assert demo_users_ensure() == ([], None)


def test_the_schema_documents_the_refusal_and_the_permission(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert "claims.view_claim" in paths["/api/claims/{claim_number}/"]["get"]["responses"]["403"]["description"]
    assert "claims.add_bulkclaimjob" in paths["/api/bulk-jobs/"]["post"]["responses"]["403"]["description"]
    assert "401" in paths["/api/reports/"]["get"]["responses"]
