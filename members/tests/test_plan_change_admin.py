"""The members admin moves whole families to another plan option from a date (issue 13, part 1)."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from claims.tests.factories import DependantFactory, MemberFactory, PlanFactory, SchemeFactory
from members.models import Member, MembershipPeriod
from members.services import member_today_sync

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:members_member_changelist"


@pytest.fixture
def families():
    """Two families on plan OLD since 2024 (one with a child), and a plan NEW of the same scheme."""
    old, new = PlanFactory(code="OLD", year=2026), PlanFactory(code="NEW", year=2027)
    first = MemberFactory(plan=old, cover_start=date(2024, 1, 1))
    child = DependantFactory(principal=first, cover_start=date(2024, 1, 1))
    second = MemberFactory(plan=old, cover_start=date(2025, 3, 1))
    for member in (first, child, second):
        MembershipPeriod.objects.create(member=member, valid_from=member.cover_start, plan=old)
    member_today_sync(member_ids=[first.id, child.id, second.id])
    return first, child, second, old, new


def history(member: Member) -> list[tuple]:
    return list(member.periods.order_by("valid_from").values_list("valid_from", "valid_to", "plan__code"))


def every_period() -> list[tuple]:
    return list(
        MembershipPeriod.objects.order_by("id").values_list("id", "member_id", "valid_from", "valid_to", "plan")
    )


def select(*members: Member, **form) -> dict:
    return {"action": "plan_change_selected", "_selected_action": [m.id for m in members], **form}


@pytest.fixture
def administrator(client, role_user):
    client.force_login(role_user("claims administrator", staff=True))
    return client


def test_the_action_asks_for_the_plan_and_the_date_then_moves_each_selected_family(administrator, families):
    first, child, second, old, new = families
    changelist = reverse(CHANGELIST)
    before = every_period()

    asked = administrator.post(changelist, select(child, second))  # the child stands for its family
    page = asked.content.decode()
    assert asked.status_code == 200 and "Move 2 families" in page
    assert f'value="{timezone.localdate().year + 1}-01-01"' in page  # next 1 January by default
    assert every_period() == before  # asking changes nothing

    done = administrator.post(
        changelist, select(child, second, confirm="yes", plan=new.id, effective_from="2027-01-01"), follow=True
    )
    assert done.status_code == 200 and "2 families moved to" in done.content.decode()
    for member, start in ((first, date(2024, 1, 1)), (child, date(2024, 1, 1)), (second, date(2025, 3, 1))):
        assert history(member) == [(start, date(2026, 12, 31), "OLD"), (date(2027, 1, 1), None, "NEW")]


def test_a_date_before_the_cover_starts_is_refused_and_nothing_changes(administrator, families):
    first, child, second, old, new = families
    before = every_period()
    refused = administrator.post(
        reverse(CHANGELIST), select(first, second, confirm="yes", plan=new.id, effective_from="2025-01-01")
    )
    page = refused.content.decode()
    assert refused.status_code == 200 and "Nothing was changed" in page
    assert f"{second}: 2025-01-01 is before the family&#x27;s cover starts (2025-03-01)" in page
    assert every_period() == before
    assert Member.objects.filter(plan=new).count() == 0


def test_a_plan_option_of_another_scheme_is_refused(administrator, families):
    first, *_ = families
    elsewhere = PlanFactory(scheme=SchemeFactory(code="OTHER", name="Another scheme"), year=2027)
    before = every_period()
    refused = administrator.post(
        reverse(CHANGELIST), select(first, confirm="yes", plan=elsewhere.id, effective_from="2027-01-01")
    )
    assert refused.status_code == 200 and "an option of another scheme" in refused.content.decode()
    assert every_period() == before


def test_a_family_without_history_is_refused_rather_than_reported_moved(administrator, families):
    *_, old, new = families
    bare = MemberFactory(plan=old, cover_start=date(2024, 1, 1))  # no membership periods
    refused = administrator.post(
        reverse(CHANGELIST), select(bare, confirm="yes", plan=new.id, effective_from="2027-01-01")
    )
    assert "has no membership periods yet" in refused.content.decode()
    bare.refresh_from_db()
    assert bare.plan == old


def test_only_users_who_may_change_membership_periods_get_the_action(client, role_user, families):
    first, *_, new = families
    assert Permission.objects.filter(content_type__app_label="members", codename="change_membershipperiod").exists()
    services = role_user("member services", staff=True)  # may change members, not their periods
    assert services.has_perm("members.change_member") and not services.has_perm("members.change_membershipperiod")
    client.force_login(services)
    changelist = reverse(CHANGELIST)
    assert "plan_change_selected" not in client.get(changelist).content.decode()
    client.post(changelist, select(first, confirm="yes", plan=new.id, effective_from="2027-01-01"))
    assert history(first) == [(date(2024, 1, 1), None, "OLD")]
