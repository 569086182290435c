"""The services behind cache_warmup and cleanup_expired_cache (core/cache.py holds the key scheme and the kinds)."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router
from django.utils import timezone

from core import cache as reference

logger = logging.getLogger(__name__)

SCAN_COUNT = 1000  # keys Redis looks at per SCAN step: short steps, the server never blocks for long


def cache_warm_up() -> dict:
    """Write a new generation of every kind, then point readers at it; returns keys written by kind and time taken.

    A kind whose generation moved while this ran (a plan, tariff or provider changed) keeps the newer
    generation: what was loaded here may predate the change.
    """
    started = time.perf_counter()
    before = reference.generations()
    new = {kind: reference.new_generation(before[kind]) for kind in reference.KINDS}
    day = timezone.now().date()
    # Each kind's parts come from the app that registered it (core/cache.py register_kind).
    parts = {kind: reference.kind_parts(kind, day) for kind in reference.KINDS}
    for kind, values in parts.items():
        keyed = {reference.data_key(kind, new[kind], part): value for part, value in values.items()}
        cache.set_many(keyed, timeout=reference.key_timeout(kind))
    current = reference.generations()
    live = [kind for kind in reference.KINDS if current[kind] == before[kind]]
    cache.set_many({reference.pointer_key(kind): new[kind] for kind in live}, timeout=None)
    skipped = sorted(set(reference.KINDS) - set(live))
    summary = {
        "keys": sum(len(values) for values in parts.values()),
        "kinds": {kind: len(values) for kind, values in parts.items()},
        "skipped_changed_meanwhile": skipped,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    logger.info("cache warm-up: %s keys %s in %s ms", summary["keys"], summary["kinds"], summary["duration_ms"])
    return summary


def cache_cleanup() -> dict:
    """Database cache: delete expired rows in batches. Redis: delete reference keys of superseded generations."""
    started = time.perf_counter()
    backend = caches["default"]  # the backend itself: django.core.cache.cache is a proxy to it
    if isinstance(backend, DatabaseCache):
        result = {"backend": "database", "deleted": _delete_expired_rows(backend)}
    elif isinstance(backend, RedisCache):
        result = {"backend": "redis", "deleted": _delete_superseded_keys(backend)}
    else:
        result = {"backend": type(backend).__name__, "deleted": 0}  # e.g. local memory: culls itself
    result["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    logger.info("cache cleanup on %s: %s deleted", result["backend"], result["deleted"])
    return result


def _delete_expired_rows(db_cache: DatabaseCache) -> int:
    """Django deletes expired rows only when it culls a full table, so they pile up; one short statement per batch."""
    db = router.db_for_write(db_cache.cache_model_class)
    connection = connections[db]
    table = connection.ops.quote_name(db_cache._table)
    # As Django's DatabaseCache compares: whole seconds, adapted like the values it stored.
    now = connection.ops.adapt_datetimefield_value(timezone.now().replace(microsecond=0))
    batch = settings.CACHE_CLEANUP_BATCH_SIZE
    deleted = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE cache_key IN (SELECT cache_key FROM {table} WHERE expires < %s LIMIT %s)",
                [now, batch],
            )
            count = cursor.rowcount  # read before the cursor closes (psycopg then reports -1)
        deleted += count
        if count < batch:
            return deleted


def _delete_superseded_keys(redis_cache: RedisCache) -> int:
    """SCAN (never KEYS: it blocks the server for the whole keyspace) for `ref:*`; delete a key only when its
    generation is below its kind's live one, so a live key, or one a warm-up is writing, is never touched."""
    live = reference.generations()
    client = redis_cache._cache.get_client(write=True)
    full_prefix = redis_cache.make_key(f"{reference.PREFIX}:")
    deleted, doomed = 0, []
    for raw in client.scan_iter(match=f"{_glob_escape(full_prefix)}*", count=SCAN_COUNT):
        key = raw.decode() if isinstance(raw, bytes) else raw
        kind, _, rest = key[len(full_prefix) :].partition(":")
        generation, _, part = rest.partition(":")
        if not part or not generation.isdigit() or live.get(kind) is None:
            continue  # a pointer, or a kind never pointed at
        if int(generation) < live[kind]:
            doomed.append(key)
        if len(doomed) >= SCAN_COUNT:
            deleted += client.delete(*doomed)
            doomed = []
    if doomed:
        deleted += client.delete(*doomed)
    return deleted


def _glob_escape(text: str) -> str:
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)
