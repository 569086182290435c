"""Writing membership history (issue 13): periods of cover, and today's state kept in step with them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from members.models import Member, MembershipPeriod, Plan


def member_today_sync(*, member_ids: Iterable[int], today: date | None = None) -> int:
    """Set Member.plan/status/status_since from the period in force today; returns how many changed.

    Today's fields are what the API, the reports and the admin list show; the periods are the history the
    adjudication reads. A member without periods keeps its fields (they are its only record).
    """
    today = today or timezone.localdate()
    changed = 0
    periods: dict[int, list[MembershipPeriod]] = {}
    for period in MembershipPeriod.objects.filter(member_id__in=list(member_ids)).order_by("member_id", "valid_from"):
        periods.setdefault(period.member_id, []).append(period)
    for member in Member.objects.filter(id__in=list(periods)):
        current, since = period_today(periods[member.id], today)
        fields = {"plan_id": current.plan_id, "status": current.status, "status_since": since}
        if any(getattr(member, name) != value for name, value in fields.items()):
            Member.objects.filter(id=member.id).update(**fields)  # no history row: the periods carry it
            changed += 1
    return changed


def period_today(periods: list, today: date):
    """The period in force today (or the first, before cover starts) and the day its status took effect:
    where the run of periods with that status began (a plan change is not a change of status)."""
    started = [p for p in periods if p.valid_from <= today] or periods[:1]
    current = started[-1]
    since = current.valid_from
    for earlier in reversed(started[:-1]):
        if earlier.status != current.status:
            break
        since = earlier.valid_from
    return current, since


@transaction.atomic
def family_plan_change(*, principal: Member, plan: Plan, effective_from: date) -> None:
    """Move a whole family to `plan` from `effective_from` (a family is on one plan option).

    Each member's period in force that day is split there (or just re-planned when it starts that day),
    later periods take the new plan too. Usually effective_from is 1 January: a plan option is chosen
    per benefit year.
    """
    family = [principal.id, *Member.objects.filter(principal_id=principal.id).values_list("id", flat=True)]
    for member_id in family:
        for period in MembershipPeriod.objects.select_for_update().filter(member_id=member_id).order_by("valid_from"):
            if period.valid_to is not None and period.valid_to < effective_from:
                continue
            if period.valid_from >= effective_from:
                period.plan = plan
                period.save(update_fields=["plan"])
                continue
            MembershipPeriod.objects.create(
                member_id=member_id,
                status=period.status,
                plan=plan,
                valid_from=effective_from,
                valid_to=period.valid_to,
            )
            period.valid_to = effective_from - timedelta(days=1)
            period.save(update_fields=["valid_to"])
    member_today_sync(member_ids=family)
