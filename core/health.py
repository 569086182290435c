"""System health: database, cache, broker (and its queue depths), workers, disk.

Every check returns {"status": "up" | "down" | "split", "latency_ms": float, ...}; a component that
fails is reported down with its error, never raised, so one outage does not hide the state of the
others. "split" (unhealthy) means the processes disagree: a worker answering with another broker,
cache or database than this process's, a worker consuming the other broker (Redis when we use the
database, or the reverse), or a queue with ready messages that no worker consumes.
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

UP, DOWN, SPLIT = "up", "down", "split"
COMPARED = ("broker", "cache", "cache_location", "database")  # what every process must agree on


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


def check_workers(timeout: float = 1.0, depths: dict[str, int] | None = None) -> dict:
    """Who answers, what each uses and consumes, compared with this process; SPLIT on any disagreement."""
    from backend.celery import app, live_mode

    own = live_mode()
    here = _answers(app.control.broadcast("live_mode", reply=True, timeout=timeout))
    elsewhere = _workers_on_the_other_broker(own, timeout)
    if not here and not elsewhere:
        raise RuntimeError(f"no worker answered a ping within {timeout}s")
    problems = []
    for name, mode in sorted(here.items()):
        if not isinstance(mode, dict) or "broker" not in mode:
            problems.append(f"{name} did not say which broker and cache it uses")
            continue
        for key in COMPARED:
            if mode.get(key) != own.get(key):
                problems.append(f"{name} uses {key} {mode.get(key)!r}, this process {own.get(key)!r}")
    for url, names in elsewhere.items():
        problems.append(f"{', '.join(sorted(names))} consume{'s' if len(names) == 1 else ''} {url}, not this "
                        f"process's broker {own['broker']}")  # fmt: skip
    consumed = {queue for mode in here.values() if isinstance(mode, dict) for queue in mode.get("queues", ())}
    for queue, ready in sorted((depths or {}).items()):
        if ready and queue not in consumed:
            problems.append(f"queue {queue!r} has {ready} ready message(s) and no worker consumes it")
    result = {
        "answered": len(here),
        "workers": sorted(here),
        "modes": {name: {key: mode.get(key) for key in (*COMPARED, "queues")} for name, mode in here.items()
                  if isinstance(mode, dict)},
    }  # fmt: skip
    if problems:
        result.update(status=SPLIT, problems=problems)
        logger.error("Health check: split: %s", "; ".join(problems))
    return result


def _answers(replies) -> dict:
    return {name: mode for reply in replies or () for name, mode in reply.items()}


def _workers_on_the_other_broker(own: dict, timeout: float) -> dict[str, list[str]]:
    """Workers that answer on the broker this process did not choose (the embedded default's two choices)."""
    from kombu import Connection
    from kombu.pidbox import Mailbox
    from kombu.utils.url import maybe_sanitize_url

    from backend.celery import app
    from core.broker.probe import redis_answers

    if own["broker"].startswith("redis"):
        other = "django://"
    elif own["broker"].startswith("django") and redis_answers(settings.REDIS_URL, timeout=0.3):
        other = settings.REDIS_URL
    else:
        return {}
    # kombu's mailbox on a connection of its own: app.control publishes through the app's producer pool
    # whatever connection it is given, and CELERY_BROKER_URL in the environment overrides any other app's
    # broker_url, so neither can broadcast on the other broker. Same exchange and format as Celery's.
    mailbox = Mailbox(app.conf.control_exchange, type="fanout", accept=["json"], serializer="json")
    try:
        with Connection(other, connect_timeout=2) as conn:
            replies = mailbox(conn)._broadcast("live_mode", {}, None, reply=True, timeout=timeout)
        names = sorted(_answers(replies))
    except Exception as exc:  # the other broker is not there at all: nobody can consume it
        logger.debug("other broker %s not reachable: %s", maybe_sanitize_url(other), exc)
        return {}
    return {maybe_sanitize_url(other): names} if names else {}


def check_dead_letters() -> dict:
    """django:// messages that were delivered CELERY_BROKER_MAX_DELIVERIES times and parked: each is a
    task that did not run, for an operator to requeue or delete (the table is empty on other brokers)."""
    from core.broker.dead_letters import dead_letter_count

    count = dead_letter_count()
    if count:
        raise RuntimeError(f"{count} message(s) in the dead-letter table: requeue or delete them in the admin")
    return {"count": 0}


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
        "dead_letters": _timed(check_dead_letters),
    }
    if ping_workers:
        depths = checks["broker"].get("queues")
        checks["workers"] = _timed(lambda: check_workers(ping_timeout, depths))
    healthy = all(check["status"] == UP for check in checks.values())
    if not healthy:
        down = sorted(f"{name} ({check['status']})" for name, check in checks.items() if check["status"] != UP)
        logger.warning("Health check: not up: %s", ", ".join(down))
    return {"healthy": healthy, "checked_at": time.time(), "checks": checks}
