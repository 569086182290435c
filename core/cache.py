"""The one small cache module: reference data the system reads most, under generation-keyed names.

Four kinds, each with its own generation: `plans` (each active plan with its benefit categories),
`tariffs` (the whole price list, and the list valid on a day), `providers` (practice number ->
status) and `dashboard` (the admin's figures). A key is `ref:<kind>:<generation>:<part>`; the pointer
`ref:<kind>:gen` names the live generation. So:

- a warm-up writes every key of a new generation first and moves the pointers last: a reader sees
  the old set or the new one, never half of each;
- a change to a plan, tariff or provider moves that kind's pointer (after its transaction commits),
  so everything cached of that kind is superseded at once and the next read goes to the database;
- a reader that misses loads from the database and stores under the generation it read *before*
  loading, so a reader racing a change can only fill a generation that is already superseded;
- superseded keys expire (REFERENCE_CACHE_TIMEOUT); `cleanup_expired_cache` removes them earlier.

Changes made with `QuerySet.update()` or raw SQL send no signal: call `reference_invalidate(kind)`.

The cache is an optimisation, never a dependency (CONVENTIONS.md §12): when it cannot be reached
every read here falls through to the database, and a warning says so (at most every 30 s per
process). A chunk of adjudication keeps going through a Redis outage instead of failing.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

logger = logging.getLogger(__name__)

KINDS = ("plans", "tariffs", "providers", "dashboard")
PREFIX = "ref"
DASHBOARD_TIMEOUT = 300  # the dashboard's counts move all day: five minutes old at most
_MISS = object()
_WARN_EVERY = 30.0  # seconds between two "cache unreachable" warnings of one process
_last_warning = 0.0


def _safely(operation: Callable[[], object], fallback, what: str):
    """`operation()`, or `fallback` when the cache fails: the caller then reads the database.

    On the database cache inside a transaction, the cache statement runs in a savepoint, so a failed
    one does not abort the caller's transaction (PostgreSQL refuses every later statement otherwise).
    """
    global _last_warning
    try:
        if _on_database_cache() and transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                return operation()
        return operation()
    except Exception as exc:
        now = time.monotonic()
        if now - _last_warning > _WARN_EVERY:
            _last_warning = now
            logger.warning("Reference cache unreachable (%s during %s): reading the database", type(exc).__name__, what)
        return fallback


def _on_database_cache() -> bool:
    return settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")


def pointer_key(kind: str) -> str:
    return f"{PREFIX}:{kind}:gen"


def data_key(kind: str, generation: int, part: str) -> str:
    return f"{PREFIX}:{kind}:{generation}:{part}"


def key_timeout(kind: str) -> int:
    return DASHBOARD_TIMEOUT if kind == "dashboard" else settings.REFERENCE_CACHE_TIMEOUT


def new_generation(current: int | None) -> int:
    """Nanoseconds since the epoch, and always above the current one (clocks of two hosts may differ)."""
    return max(time.time_ns(), (current or 0) + 1)


def generations() -> dict[str, int | None]:
    """The live generation of every kind (None: nothing cached yet)."""
    found = _safely(lambda: cache.get_many([pointer_key(kind) for kind in KINDS]), {}, "generations")
    return {kind: found.get(pointer_key(kind)) for kind in KINDS}


def _generation(kind: str) -> int:
    """The live generation of `kind`, starting one if there is none (add: two starters agree on one)."""
    generation = cache.get(pointer_key(kind))
    if generation is None:
        cache.add(pointer_key(kind), new_generation(None), timeout=None)
        generation = cache.get(pointer_key(kind))
    return generation


def read_through(kind: str, part: str, load: Callable[[], object]):
    """The cached value of (kind, part); on a miss `load()` from the database, store it, return it."""
    generation = _safely(lambda: _generation(kind), None, "read")
    if generation is None:  # the cache is down: the database answers
        return load()
    key = data_key(kind, generation, part)
    value = _safely(lambda: cache.get(key, _MISS), _MISS, "read")
    if value is _MISS:
        value = load()
        _safely(lambda: cache.set(key, value, timeout=key_timeout(kind)), None, "fill")
    return value


def reference_invalidate(kind: str) -> None:
    """Supersede everything cached of `kind`: now, so this process (and a test's transaction) sees the
    change at once, and again when the transaction commits, because a reader between the two may have
    filled the new generation with rows from before the change."""
    _bump(kind)
    transaction.on_commit(lambda: _bump(kind))


def _bump(kind: str) -> None:
    # A cache that is down holds nothing to supersede; one that comes back with its old keys (Redis
    # with persistence) serves them until they expire or the next warm-up: the warning says so.
    _safely(
        lambda: cache.set(pointer_key(kind), new_generation(cache.get(pointer_key(kind))), timeout=None),
        None,
        f"invalidation of {kind}",
    )


# --- loaders: what each key holds, read from the database ---------------------------------------


def load_plans(plan_ids: Iterable[int]) -> dict[int, dict]:
    """Plans with their benefit categories (code, member limit, family limit, copay %, event cap, pre-auth)."""
    from members.models import BenefitCategory, Plan

    fields = ("id", "code", "name", "year", "effective_from", "effective_to")
    plans = {plan["id"]: {**plan, "benefits": []} for plan in Plan.objects.filter(id__in=plan_ids).values(*fields)}
    for plan_id, *benefit in (
        BenefitCategory.objects.filter(plan_id__in=list(plans))
        .order_by("plan_id", "code")
        .values_list("plan_id", "code", "annual_limit_member", "annual_limit_family", "copay_percent",
                     "per_event_cap", "requires_preauth")
    ):  # fmt: skip
        plans[plan_id]["benefits"].append(tuple(benefit))
    return plans


def load_active_plan_ids(day: date) -> list[int]:
    from members.models import Plan

    return list(
        Plan.objects.filter(effective_from__lte=day, effective_to__gte=day).order_by("id").values_list("id", flat=True)
    )


def load_price_list() -> dict[str, list[tuple]]:
    """Every tariff row by code, in a fixed order (when two rows could apply, the first one wins)."""
    from claims.models import TariffCode

    tariffs: dict[str, list[tuple]] = defaultdict(list)
    for code, *rest in TariffCode.objects.order_by("code", "valid_from", "id").values_list(
        "code", "valid_from", "valid_to", "unit_price", "benefit_code"
    ):
        tariffs[code].append(tuple(rest))
    return dict(tariffs)


def load_tariffs_valid_on(day: date) -> list[dict]:
    from claims.models import TariffCode

    return list(
        TariffCode.objects.filter(Q(valid_to=None) | Q(valid_to__gte=day), valid_from__lte=day)
        .order_by("code", "valid_from", "id")
        .values("code", "description", "benefit_code", "unit_price", "valid_from", "valid_to")
    )


def load_provider_registry() -> dict[str, str]:
    from providers.models import Provider

    return dict(Provider.objects.values_list("practice_number", "status"))


def load_dashboard() -> dict:
    from claims.models import BulkClaimJob, Claim
    from members.models import Member
    from providers.models import Provider

    return {
        "as_of": timezone.now().isoformat(),
        "claims_by_status": dict(Claim.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "members_by_status": dict(Member.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "providers_by_status": dict(Provider.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "bulk_jobs_running": BulkClaimJob.objects.filter(status=BulkClaimJob.Status.RUNNING).count(),
    }


# --- what the engine, the API and the admin call ----------------------------------------------


def plans_get(plan_ids: Iterable[int]) -> dict[int, dict]:
    """Plans with their benefit categories, by id (unknown ids are left out); one cache round trip,
    and the plans it misses in two queries."""
    plan_ids = sorted(set(plan_ids))
    generation = _safely(lambda: _generation("plans"), None, "read")
    if generation is None:  # the cache is down: the database answers
        return load_plans(plan_ids)
    keys = {plan_id: data_key("plans", generation, f"plan:{plan_id}") for plan_id in plan_ids}
    found = _safely(lambda: cache.get_many(list(keys.values())), {}, "read")
    plans = {plan_id: found[key] for plan_id, key in keys.items() if key in found}
    missing = [plan_id for plan_id in plan_ids if plan_id not in plans]
    if missing:
        loaded = load_plans(missing)
        _safely(
            lambda: cache.set_many({keys[p]: loaded.get(p) for p in missing}, timeout=key_timeout("plans")),
            None,
            "fill",
        )
        plans.update(loaded)
    return {plan_id: plan for plan_id, plan in plans.items() if plan is not None}


def active_plans(day: date | None = None) -> list[dict]:
    day = day or timezone.now().date()
    ids = read_through("plans", f"active:{day.isoformat()}", lambda: load_active_plan_ids(day))
    plans = plans_get(ids)
    return [plans[plan_id] for plan_id in ids if plan_id in plans]


def price_list() -> dict[str, list[tuple]]:
    """code -> [(valid_from, valid_to, unit_price, benefit_code), ...], all validity periods."""
    return read_through("tariffs", "all", load_price_list)


def tariffs_valid_on(day: date | None = None) -> list[dict]:
    day = day or timezone.now().date()
    return read_through("tariffs", f"valid:{day.isoformat()}", lambda: load_tariffs_valid_on(day))


def provider_registry() -> dict[str, str]:
    return read_through("providers", "registry", load_provider_registry)


def dashboard_figures() -> dict:
    return read_through("dashboard", "figures", load_dashboard)


# --- invalidation on change: connected once, from core.apps ------------------------------------


def connect_invalidation() -> None:
    from claims.models import TariffCode
    from members.models import BenefitCategory, Plan
    from providers.models import Provider

    for model, kind in ((Plan, "plans"), (BenefitCategory, "plans"), (TariffCode, "tariffs"), (Provider, "providers")):
        for signal in (post_save, post_delete):
            signal.connect(
                lambda sender, kind=kind, **kwargs: reference_invalidate(kind),
                sender=model,
                weak=False,
                dispatch_uid=f"reference-cache-{kind}-{model.__name__}-{signal is post_save}",
            )
