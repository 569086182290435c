"""The audit trail (django-simple-history): who changed what in the admin, on plans, tariffs, providers,
members and claims, and who may read it. Bulk paths write no history rows, by design."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User

from claims.demo import demo_data_seed
from claims.models import Claim, TariffCode
from core.tasks import process_bulk_claims
from members.models import Member, Plan, Scheme
from providers.models import Provider

pytestmark = pytest.mark.django_db

PLAN_FORM = {
    "code": "CLASSIC",
    "year": 2026,
    "effective_from": "2026-01-01",
    "effective_to": "2026-12-31",
    "benefits-TOTAL_FORMS": 0,
    "benefits-INITIAL_FORMS": 0,
    "benefits-MIN_NUM_FORMS": 0,
    "benefits-MAX_NUM_FORMS": 1000,
}


@pytest.fixture
def plan():
    scheme = Scheme.objects.create(code="MED", name="MedAid")
    return Plan.objects.create(
        scheme=scheme,
        code="CLASSIC",
        name="Classic",
        year=2026,
        effective_from=dt.date(2026, 1, 1),
        effective_to=dt.date(2026, 12, 31),
    )


def staff(username: str, role: str) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)  # a test user
    user.groups.set([Group.objects.get(name=role)])
    return user


def test_an_admin_edit_of_a_plan_is_recorded_with_its_user_and_shown_on_the_history_page(client, admin_user, plan):
    client.force_login(admin_user)
    response = client.post(
        f"/admin/members/plan/{plan.id}/change/",
        {**PLAN_FORM, "scheme": plan.scheme_id, "name": "Classic Plus"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    changed, created = plan.history.all()[:2]
    assert (changed.history_type, changed.name, changed.history_user) == ("~", "Classic Plus", admin_user)
    assert (created.history_type, created.name, created.history_user) == ("+", "Classic", None)  # made in code
    assert [(c.field, c.old, c.new) for c in changed.diff_against(created).changes] == [
        ("name", "Classic", "Classic Plus")
    ]

    page = client.get(f"/admin/members/plan/{plan.id}/history/")
    assert page.status_code == 200
    text = page.content.decode()
    assert admin_user.username in text and "Classic Plus" in text


def test_an_auditor_reads_the_history_and_nobody_reverts_it(client, admin_user, plan, settings):
    plan.name = "Classic Plus"
    plan.save()
    first = plan.history.last()  # "Classic", as created
    revert = f"/admin/members/plan/{plan.id}/history/{first.history_id}/"
    form = {**PLAN_FORM, "scheme": plan.scheme_id, "name": "Classic"}

    client.force_login(staff("auditor-1", "auditor"))
    assert client.get(f"/admin/members/plan/{plan.id}/history/").status_code == 200
    assert client.get(revert).status_code == 200  # an old version, to read
    settings.SIMPLE_HISTORY_REVERT_DISABLED = False  # even so, view permission alone writes nothing
    assert client.post(revert, form).status_code == 403  # django-simple-history alone saved it (core/history_admin.py)
    plan.refresh_from_db()
    assert plan.name == "Classic Plus"

    # SIMPLE_HISTORY_REVERT_DISABLED (our setting): not even a superuser writes an old version back; the same
    # POST reverts when it is off, so the refusal above is not a malformed form.
    client.force_login(admin_user)
    settings.SIMPLE_HISTORY_REVERT_DISABLED = True
    assert client.post(revert, form).status_code == 403
    plan.refresh_from_db()
    assert plan.name == "Classic Plus"
    settings.SIMPLE_HISTORY_REVERT_DISABLED = False
    assert client.post(revert, form).status_code == 302
    plan.refresh_from_db()
    assert plan.name == "Classic"

    client.force_login(staff("operator-1", "operator"))  # no view permission on plans: no history either
    assert client.get(f"/admin/members/plan/{plan.id}/history/").status_code == 403


def test_every_audited_model_has_a_history_page_in_the_admin(client, admin_user):
    demo_data_seed(members=2, claims=1, seed=3)
    client.force_login(admin_user)
    for model in (Plan, TariffCode, Provider, Member, Claim):
        row = model.objects.first()
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{row.pk}/history/"
        assert client.get(url).status_code == 200, url
        assert hasattr(model, "history"), model


def test_bulk_adjudication_writes_no_history_rows():
    """History is for edits one at a time; the bulk path writes with set-based SQL and stays as fast."""
    demo_data_seed(members=5, claims=20, seed=2)
    before = Claim.history.count()
    result = process_bulk_claims(list(Claim.objects.values_list("id", flat=True)))
    assert result["adjudicated"] == 20
    assert Claim.history.count() == before == 0  # the demo data is bulk-inserted too
