"""The members app's reference data in the platform's cache (core/cache.py): the `plans` kind.

Registered from MembersConfig.ready(); a saved or deleted plan or benefit category supersedes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.utils import timezone

from core.cache import read_many, read_through, register_kind
from members.models import BenefitCategory, Plan


def load_plans(plan_ids: Iterable[int]) -> dict[int, dict]:
    """Plans with their benefit categories (code, member limit, family limit, copay %, event cap, pre-auth,
    review threshold)."""
    fields = ("id", "code", "name", "year", "effective_from", "effective_to")
    plans = {plan["id"]: {**plan, "benefits": []} for plan in Plan.objects.filter(id__in=plan_ids).values(*fields)}
    for plan_id, *benefit in (
        BenefitCategory.objects.filter(plan_id__in=list(plans))
        .order_by("plan_id", "code")
        .values_list(
            "plan_id",
            "code",
            "annual_limit_member",
            "annual_limit_family",
            "copay_percent",
            "per_event_cap",
            "requires_preauth",
            "review_threshold",
        )
    ):
        plans[plan_id]["benefits"].append(tuple(benefit))
    return plans


def load_active_plan_ids(day: date) -> list[int]:
    return list(
        Plan.objects.filter(effective_from__lte=day, effective_to__gte=day).order_by("id").values_list("id", flat=True)
    )


def plans_get(plan_ids: Iterable[int]) -> dict[int, dict]:
    """Plans with their benefit categories, by id (unknown ids are left out); one cache round trip,
    and the plans it misses in two queries."""
    return read_many("plans", {plan_id: f"plan:{plan_id}" for plan_id in sorted(set(plan_ids))}, load_plans)


def active_plans(day: date | None = None) -> list[dict]:
    day = day or timezone.now().date()
    ids = read_through("plans", f"active:{day.isoformat()}", lambda: load_active_plan_ids(day))
    plans = plans_get(ids)
    return [plans[plan_id] for plan_id in ids if plan_id in plans]


def warm_plans(day: date) -> dict[str, object]:
    """Each plan active on `day`, and the list of them."""
    active_ids = load_active_plan_ids(day)
    return {f"plan:{plan_id}": plan for plan_id, plan in load_plans(active_ids).items()} | {
        f"active:{day.isoformat()}": active_ids
    }


def register() -> None:
    register_kind("plans", warm=warm_plans, invalidated_by=(Plan, BenefitCategory))
