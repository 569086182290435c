"""The reference-data cache: warm-up, what it saves the engine and the API, invalidation, cleanup."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from claims import cache as reference_data  # the kinds the apps register (claims re-exports all)
from claims.adjudication.engine import adjudicate_claims
from claims.models import Claim, TariffCode
from claims.tests.factories import (
    LONG_AGO,
    ClaimFactory,
    MemberFactory,
    PlanFactory,
    ProviderFactory,
    TariffCodeFactory,
)
from core import cache as reference
from core.cache_maintenance import cache_cleanup
from core.tasks import cache_warmup, cleanup_expired_cache
from members.models import BenefitCategory
from providers.models import Provider

BACKEND = caches["default"]  # `cache` is a proxy: isinstance needs the backend itself
REFERENCE_TABLES = ("members_plan", "members_benefitcategory", "claims_tariffcode", "providers_provider")


def forget_reference_keys() -> None:
    """Start from an empty reference cache. On Redis only our own keys go (the broker may share the database)."""
    if isinstance(BACKEND, RedisCache):
        client = BACKEND._cache.get_client(write=True)
        keys = list(client.scan_iter(match=cache.make_key("ref:*"), count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _empty_reference_cache(django_db_blocker):
    with django_db_blocker.unblock():
        forget_reference_keys()
    yield
    with django_db_blocker.unblock():
        forget_reference_keys()


def reference_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in REFERENCE_TABLES)]


@pytest.fixture
def scheme(db):
    """Two plans in effect and one of last year, two tariff codes, an active and a suspended provider."""
    plans = [PlanFactory(), PlanFactory(), PlanFactory(year=2001)]
    TariffCodeFactory()  # 0190, R400
    TariffCodeFactory(code="0191", description="GP follow-up", unit_price=Decimal("250.00"))
    gp = ProviderFactory(practice_number="0100001")
    ProviderFactory(practice_number="0100002", status=Provider.Status.SUSPENDED)
    return {"plans": plans, "gp": gp}


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def pending_claims(scheme, n: int = 3) -> list[int]:
    """Pending claims of n members (one member's identical claims would be duplicates)."""
    return [ClaimFactory(member__plan=scheme["plans"][0], practice_number="0100001").id for _ in range(n)]


def test_warm_up_writes_a_generation_of_every_kind_and_says_what_it_wrote(scheme):
    result = cache_warmup()  # called directly, as the seed's example does
    # 2 plans in effect + their id list; the whole price list + today's; the registry and the status
    # periods; the dashboard
    assert result["kinds"] == {"plans": 3, "tariffs": 2, "providers": 2, "dashboard": 1}
    assert result["keys"] == 8 and result["duration_ms"] >= 0 and result["skipped_changed_meanwhile"] == []
    assert all(reference.generations().values())
    assert reference_data.provider_registry() == {"0100001": "active", "0100002": "suspended"}
    assert reference_data.price_list()["0191"] == [(LONG_AGO, None, Decimal("250.00"), "GP", False)]  # not reviewed


def test_a_second_warm_up_replaces_the_first_generation_as_a_whole(scheme):
    cache_warmup()
    first = reference.generations()
    cache_warmup()
    second = reference.generations()
    assert all(second[kind] > first[kind] for kind in reference.KINDS)
    assert (
        cache.get(reference.data_key("providers", second["providers"], "registry"))
        == reference_data.provider_registry()
    )


def test_after_warm_up_adjudicating_a_chunk_reads_no_reference_data_from_the_database(scheme):
    cold_ids, warm_ids = pending_claims(scheme), pending_claims(scheme)
    with CaptureQueriesContext(connection) as cold:
        adjudicate_claims(cold_ids)
    # plan + benefits of the plan it missed, the price list, the provider registry and the providers'
    # status periods: read once, then cached
    assert len(reference_queries(cold)) == 5

    forget_reference_keys()
    cache_warmup()
    with CaptureQueriesContext(connection) as warm:
        outcome = adjudicate_claims(warm_ids)
    assert reference_queries(warm) == []
    assert len(warm.captured_queries) < len(cold.captured_queries)
    assert outcome.approved == 3  # decided on the cached plan, price list and registry
    assert set(Claim.objects.filter(id__in=warm_ids).values_list("total_benefit", flat=True)) == {Decimal("400.00")}


def test_after_warm_up_the_plan_and_tariff_api_reads_make_no_reference_query(scheme, api):
    cache_warmup()
    with CaptureQueriesContext(connection) as reads:
        plans = api.get("/api/plans/")
        tariffs = api.get("/api/tariffs/")
    assert plans.status_code == tariffs.status_code == 200
    assert reference_queries(reads) == []
    if isinstance(BACKEND, RedisCache):
        assert reads.captured_queries == []  # the cache is not the database at all
    assert sorted(plan["id"] for plan in plans.json()) == sorted(p.id for p in scheme["plans"][:2])
    gp = next(b for b in plans.json()[0]["benefits"] if b["code"] == "GP")
    assert gp == {
        "code": "GP",
        "description": "General practitioner",
        "annual_limit_member": None,
        "annual_limit_family": None,
        "copay_percent": "0.00",
        "per_event_cap": None,
        "requires_preauth": False,
        "review_threshold": None,
    }
    assert [(t["code"], t["unit_price"]) for t in tariffs.json()] == [("0190", "400.00"), ("0191", "250.00")]


def test_a_tariff_change_is_seen_at_once(scheme, api, django_capture_on_commit_callbacks):
    cache_warmup()
    with django_capture_on_commit_callbacks(execute=True):
        tariff = TariffCode.objects.get(code="0190")
        tariff.unit_price = Decimal("450.00")
        tariff.save()
    assert reference_data.price_list()["0190"][0][2] == Decimal("450.00")
    assert api.get("/api/tariffs/").json()[0]["unit_price"] == "450.00"
    member = MemberFactory(plan=scheme["plans"][0])
    claim = ClaimFactory(member=member, practice_number="0100001", lines=[{"claimed_amount": Decimal("450.00")}])
    adjudicate_claims([claim.id])
    claim.refresh_from_db()
    assert (claim.status, claim.total_benefit) == ("approved", Decimal("450.00"))


def test_a_plan_or_provider_change_supersedes_only_its_own_kind(scheme, django_capture_on_commit_callbacks):
    cache_warmup()
    before = reference.generations()
    with django_capture_on_commit_callbacks(execute=True):
        BenefitCategory.objects.filter(plan=scheme["plans"][0], code="GP").get().delete()
        Provider.objects.get(practice_number="0100001").save()
    after = reference.generations()
    assert after["plans"] > before["plans"] and after["providers"] > before["providers"]
    assert after["tariffs"] == before["tariffs"] and after["dashboard"] == before["dashboard"]
    codes = [row[0] for row in reference_data.plans_get([scheme["plans"][0].id])[scheme["plans"][0].id]["benefits"]]
    assert "GP" not in codes


def test_a_new_provider_added_without_signals_is_found_in_the_database(scheme):
    cache_warmup()
    Provider.objects.bulk_create([Provider(practice_number="0100009", name="New", discipline="gp")])
    member = MemberFactory(plan=scheme["plans"][0])
    claim = ClaimFactory(member=member, practice_number="0100009")
    adjudicate_claims([claim.id])
    assert Claim.objects.get(id=claim.id).status == "approved"


@pytest.mark.skipif(not isinstance(BACKEND, DatabaseCache), reason="the database cache's cleanup")
def test_cleanup_deletes_exactly_the_expired_rows_in_batches(db, settings):
    settings.CACHE_CLEANUP_BATCH_SIZE = 3
    for n in range(7):
        cache.set(f"old-{n}", n, timeout=0)  # stored already expired, as a lapsed key is
    for n in range(3):
        cache.set(f"live-{n}", n, timeout=3600)
    table = connection.ops.quote_name(BACKEND._table)
    with CaptureQueriesContext(connection) as ran:
        result = cleanup_expired_cache(only=["cache"])["steps"]["cache"]  # the daily cleanup's cache step
    assert result["backend"] == "database" and result["deleted"] == 7
    assert len([q for q in ran.captured_queries if q["sql"].startswith("DELETE")]) == 3  # 3 + 3 + 1
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key FROM {table}")  # our own table name
        left = sorted(key.rsplit(":", 1)[-1] for (key,) in cursor.fetchall())
    assert left == ["live-0", "live-1", "live-2"]
    assert cache_cleanup()["deleted"] == 0


@pytest.mark.skipif(not isinstance(BACKEND, RedisCache), reason="the Redis cleanup")
def test_cleanup_on_redis_deletes_superseded_generations_with_scan_never_a_live_key(scheme):
    cache_warmup()
    stale = reference.generations()
    cache_warmup()
    live = reference.generations()
    in_progress = reference.data_key("plans", live["plans"] + 1, "plan:1")  # a warm-up still writing
    cache.set(in_progress, {"id": 1}, timeout=60)
    cache.set("not-ours", 1, timeout=60)
    client = BACKEND._cache.get_client(write=True)
    stats = client.info("commandstats")
    result = cleanup_expired_cache()["steps"]["cache"]  # the daily cleanup's cache step
    after = client.info("commandstats")
    assert result == {"backend": "redis", "deleted": 8, "duration_ms": result["duration_ms"]}
    assert after.get("cmdstat_keys", {}).get("calls") == stats.get("cmdstat_keys", {}).get("calls")
    assert after["cmdstat_scan"]["calls"] > stats.get("cmdstat_scan", {}).get("calls", 0)
    assert not client.exists(cache.make_key(reference.data_key("providers", stale["providers"], "registry")))
    assert cache.get(reference.data_key("providers", live["providers"], "registry")) is not None
    assert cache.get(in_progress) == {"id": 1} and cache.get("not-ours") == 1
    assert all(cache.get(reference.pointer_key(kind)) == live[kind] for kind in reference.KINDS)


@pytest.mark.worker
def test_warm_up_and_cleanup_run_on_a_worker_of_the_cache_queue(start_worker, scheme):
    start_worker("cache", queues="cache")
    warmed = cache_warmup.delay().get(timeout=60)
    assert warmed["keys"] == 8
    assert cleanup_expired_cache.delay().get(timeout=60)["steps"]["cache"]["deleted"] >= 0
    assert reference_data.provider_registry()["0100002"] == "suspended"


def test_with_the_cache_unreachable_adjudication_and_the_api_read_the_database(scheme, api, settings, caplog):
    decided_with_cache = pending_claims(scheme)
    adjudicate_claims(decided_with_cache)
    # A Redis nobody answers on (port 1 on this machine): every cache call fails at once.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    reference._last_warning = 0.0
    decided_without = pending_claims(scheme)
    outcome = adjudicate_claims(decided_without)
    assert outcome.approved == 3
    amounts = lambda ids: sorted(Claim.objects.filter(id__in=ids).values_list("status", "total_benefit"))  # noqa: E731
    assert amounts(decided_without) == amounts(decided_with_cache)
    assert api.get("/api/tariffs/").status_code == 200
    assert "Reference cache unreachable" in caplog.text
