"""The claims app's reference data in the platform's cache (core/cache.py), and everything claims reads
from that cache in one place.

Kinds registered here (from ClaimsConfig.ready()): `tariffs` (the whole price list, and the list valid on a
day; a saved or deleted tariff row supersedes it) and `dashboard` (the admin's figures of claims, members,
providers and bulk jobs, at most DASHBOARD_TIMEOUT old). The plans and the provider registry belong to
members and providers (members/cache.py, providers/cache.py); they are re-exported here because the
adjudication engine and the reference API read all of them (`from claims import cache as reference_cache`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import Count, Q
from django.utils import timezone

from claims.models import BulkClaimJob, Claim, TariffCode
from core.cache import KINDS, read_through, reference_invalidate, register_kind
from members.cache import active_plans, plans_get
from members.models import Member
from providers.cache import provider_periods, provider_registry
from providers.models import Provider

__all__ = [
    "KINDS",
    "active_plans",
    "dashboard_figures",
    "plans_get",
    "price_list",
    "provider_periods",
    "provider_registry",
    "reference_invalidate",
    "tariffs_valid_on",
]

DASHBOARD_TIMEOUT = 300  # the dashboard's counts move all day: five minutes old at most


def load_price_list() -> dict[str, list[tuple]]:
    """Every tariff row by code, in a fixed order (when two rows could apply, the first one wins)."""
    tariffs: dict[str, list[tuple]] = defaultdict(list)
    for code, *rest in TariffCode.objects.order_by("code", "valid_from", "id").values_list(
        "code", "valid_from", "valid_to", "unit_price", "benefit_code", "requires_review"
    ):
        tariffs[code].append(tuple(rest))
    return dict(tariffs)


def load_tariffs_valid_on(day: date) -> list[dict]:
    return list(
        TariffCode.objects.filter(Q(valid_to=None) | Q(valid_to__gte=day), valid_from__lte=day)
        .order_by("code", "valid_from", "id")
        .values("code", "description", "benefit_code", "unit_price", "valid_from", "valid_to")
    )


def load_dashboard() -> dict:
    return {
        "as_of": timezone.now().isoformat(),
        "claims_by_status": dict(Claim.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "members_by_status": dict(Member.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "providers_by_status": dict(Provider.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "bulk_jobs_running": BulkClaimJob.objects.filter(status=BulkClaimJob.Status.RUNNING).count(),
    }


def price_list() -> dict[str, list[tuple]]:
    """code -> [(valid_from, valid_to, unit_price, benefit_code, requires_review), ...], all validity periods."""
    return read_through("tariffs", "all", load_price_list)


def tariffs_valid_on(day: date | None = None) -> list[dict]:
    day = day or timezone.now().date()
    return read_through("tariffs", f"valid:{day.isoformat()}", lambda: load_tariffs_valid_on(day))


def dashboard_figures() -> dict:
    return read_through("dashboard", "figures", load_dashboard)


def register() -> None:
    register_kind(
        "tariffs",
        warm=lambda day: {"all": load_price_list(), f"valid:{day.isoformat()}": load_tariffs_valid_on(day)},
        invalidated_by=(TariffCode,),
    )
    register_kind("dashboard", warm=lambda day: {"figures": load_dashboard()}, timeout=DASHBOARD_TIMEOUT)
