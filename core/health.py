"""System health: database, cache, broker (and its queue depths), workers, disk.

Every check returns {"status": "up" | "down", "latency_ms": float, ...}; a component that fails is
reported down with its error, never raised, so one outage does not hide the state of the others.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

UP, DOWN = "up", "down"


def _timed(check: Callable[[], dict]) -> dict:
    started = time.perf_counter()
    try:
        result = {"status": UP, **check()}
    except Exception as exc:  # a check must report, not raise
        result = {"status": DOWN, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def check_cache() -> dict:
    key, value = f"health:probe:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=30)
    read = cache.get(key)
    cache.delete(key)
    if read != value:
        raise RuntimeError("cache did not return the value just written")
    return {"backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


def check_broker() -> dict:
    from backend.celery import app
    from core.queues import queue_depths

    depths = queue_depths(settings.TASK_QUEUE_NAMES)
    with app.connection_for_read() as conn:
        return {"url": conn.as_uri(), "queues": depths}


def check_workers(timeout: float = 1.0) -> dict:
    from backend.celery import app

    replies = app.control.ping(timeout=timeout)
    names = sorted(name for reply in replies for name in reply)
    if not names:
        raise RuntimeError(f"no worker answered a ping within {timeout}s")
    return {"answered": len(names), "workers": names}


def check_disk() -> dict:
    usage = shutil.disk_usage(settings.DATA_DIR)
    free_mb = usage.free // (1024 * 1024)
    minimum = settings.HEALTH_MIN_FREE_DISK_MB
    if free_mb < minimum:
        raise RuntimeError(f"{free_mb} MB free under the data folder, below the {minimum} MB minimum")
    return {"free_mb": free_mb, "free_percent": round(100 * usage.free / usage.total, 1)}


def run_health_checks(*, ping_workers: bool = True, ping_timeout: float = 1.0) -> dict:
    """Run every check; `healthy` is true only when all of them are up."""
    checks = {
        "database": _timed(check_database),
        "cache": _timed(check_cache),
        "broker": _timed(check_broker),
        "disk": _timed(check_disk),
    }
    if ping_workers:
        checks["workers"] = _timed(lambda: check_workers(ping_timeout))
    healthy = all(check["status"] == UP for check in checks.values())
    if not healthy:
        down = sorted(name for name, check in checks.items() if check["status"] == DOWN)
        logger.warning("Health check: down: %s", ", ".join(down))
    return {"healthy": healthy, "checked_at": time.time(), "checks": checks}
