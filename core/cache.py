"""The one small cache module: reference data the system reads most, under generation-keyed names.

Kinds, each with its own generation, are registered by the domain apps from their AppConfig.ready()
(core imports no domain app, issue 12): `plans` (members/cache.py: each active plan with its benefit
categories), `providers` (providers/cache.py: practice number -> status), `tariffs` (the whole price
list, and the list valid on a day) and `dashboard` (the admin's figures), both in claims/cache.py:

    register_kind("providers", warm=lambda day: {"registry": load_provider_registry()},
                  invalidated_by=(Provider,))

A key is `ref:<kind>:<generation>:<part>`; the pointer `ref:<kind>:gen` names the live generation. So:

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger(__name__)

PREFIX = "ref"
_MISS = object()
_WARN_EVERY = 30.0  # seconds between two "cache unreachable" warnings of one process
_last_warning = 0.0


@dataclass(frozen=True)
class Kind:
    name: str
    warm: Callable[[date], dict[str, object]]  # the day -> {part: value}: what a warm-up writes
    timeout: int | None  # seconds a key lives; None: REFERENCE_CACHE_TIMEOUT


_kinds: dict[str, Kind] = {}
# The registered kinds' names, in registration order. One list, changed in place, so that a module that
# did `from core.cache import KINDS` before the apps were ready sees every kind too.
KINDS: list[str] = []


def register_kind(
    name: str,
    *,
    warm: Callable[[date], dict[str, object]],
    timeout: int | None = None,
    invalidated_by: Iterable[type] = (),
) -> None:
    """Add (or replace, so a re-run ready() is harmless) the kind `name`.

    `warm(day)` loads every part the daily warm-up writes; a save or delete of any `invalidated_by`
    model supersedes the kind (after its transaction commits, see reference_invalidate).
    """
    _kinds[name] = Kind(name, warm, timeout)
    if name not in KINDS:
        KINDS.append(name)
    for model in invalidated_by:
        for signal in (post_save, post_delete):
            signal.connect(
                lambda sender, kind=name, **kwargs: reference_invalidate(kind),
                sender=model,
                weak=False,
                dispatch_uid=f"reference-cache-{name}-{model.__name__}-{signal is post_save}",
            )


def kind_parts(kind: str, day: date) -> dict[str, object]:
    """Every part of `kind` the warm-up writes for `day`, loaded from the database."""
    return _kinds[kind].warm(day)


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
    registered = _kinds.get(kind)
    if registered is not None and registered.timeout is not None:
        return registered.timeout
    return settings.REFERENCE_CACHE_TIMEOUT


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


def read_many(kind: str, parts: dict, load: Callable[[list], dict]) -> dict:
    """The cached values of many parts of `kind` in one round trip: `parts` maps an id to its part name;
    the ids missed are loaded with one `load(missing_ids)` (id -> value) and stored. id -> value, without
    the ids `load` did not find."""
    generation = _safely(lambda: _generation(kind), None, "read")
    if generation is None:  # the cache is down: the database answers
        return load(list(parts))
    keys = {item: data_key(kind, generation, part) for item, part in parts.items()}
    found = _safely(lambda: cache.get_many(list(keys.values())), {}, "read")
    values = {item: found[key] for item, key in keys.items() if key in found}
    missing = [item for item in parts if item not in values]
    if missing:
        loaded = load(missing)
        # A miss is stored too (as None), so an unknown id does not go to the database on every read.
        filled = {keys[item]: loaded.get(item) for item in missing}
        _safely(lambda: cache.set_many(filled, timeout=key_timeout(kind)), None, "fill")
        values.update(loaded)
    return {item: value for item, value in values.items() if value is not None}
