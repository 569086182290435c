"""The daily cleanup: a list of steps (expired cache rows, old task results, old e-mails' personal data, ...).

Core knows no domain app (issue 12), so the list is registrable: core registers its own steps here, and
a domain app registers its steps in its AppConfig.ready():

    from core.hygiene import register_cleanup
    register_cleanup("notifications", notifications_retention_apply)

A step is `fn()` or `fn(*, deadline)` (a time.monotonic() value) returning a small dict of counts
(`deleted`, `left`, ...) or an int. Steps run in registration order under one time budget
(HYGIENE_TIME_BUDGET_SECONDS): a step that runs out stops between two batches and says what is left,
the steps after it are skipped, and the next day's run goes on where this one stopped. Each batch is
its own short transaction, so a table of a million rows is cleaned without one long lock (which on
SQLite would also stop the django:// broker, which shares its one write lock) and with bounded memory.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.db.models.deletion import Collector
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanupStep:
    name: str
    fn: Callable[..., dict | int]
    takes_deadline: bool


_steps: dict[str, CleanupStep] = {}


class CleanupFailed(Exception):
    """A step raised: the other steps still ran; the message names the failed steps, never any data."""


def register_cleanup(name: str, fn: Callable[..., dict | int]) -> None:
    """Add (or replace, so a re-run ready() is harmless) the step `name`; steps run in registration order."""
    takes_deadline = "deadline" in inspect.signature(fn).parameters
    _steps[name] = CleanupStep(name, fn, takes_deadline)


def cleanup_steps() -> list[str]:
    return list(_steps)


def daily_cleanup(*, budget_seconds: float | None = None, only: list[str] | None = None) -> dict:
    """Run every registered step within the time budget; counts per step (JSON, no personal data)."""
    started = time.monotonic()
    budget = settings.HYGIENE_TIME_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    deadline = started + budget
    results: dict[str, dict] = {}
    failed = []
    for step in _steps.values():
        if only is not None and step.name not in only:
            continue
        if time.monotonic() >= deadline:
            results[step.name] = {"skipped": "time budget spent"}
            continue
        step_started = time.monotonic()
        try:
            outcome = step.fn(deadline=deadline) if step.takes_deadline else step.fn()
        except Exception as error:
            logger.exception("daily cleanup: step %s failed", step.name)
            failed.append(step.name)
            outcome = {"error": type(error).__name__}
        result = outcome if isinstance(outcome, dict) else {"deleted": outcome}
        result.setdefault("duration_ms", round((time.monotonic() - step_started) * 1000, 1))
        results[step.name] = result
    complete = not failed and all(r.get("complete", True) and "skipped" not in r for r in results.values())
    summary = {
        "steps": results,
        "complete": complete,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
    }
    logger.info("daily cleanup: %s", summary)
    if failed:
        raise CleanupFailed(f"daily cleanup: step(s) {', '.join(failed)} failed; summary {summary}")
    return summary


def walk_in_batches(
    queryset: models.QuerySet,
    action: Callable[[models.QuerySet], int],
    *,
    old: Q,
    deadline: float,
    batch_size: int | None = None,
) -> dict:
    """Apply `action` to the rows of `queryset` (what is to be cleaned) one primary-key range of
    `batch_size` rows at a time, each in its own transaction, until done or past `deadline`.

    Returns {"done": rows acted on, "batches", "left", "complete"}. Rows are numbered in the order
    they were written, so the rows `old` describes (older than the cutoff) come first: the walk stops
    at the first range where the action touched nothing and no row is `old`. The ranges are found on the
    primary key alone (`pk > last ORDER BY pk LIMIT 1 OFFSET batch-1`): measured on PostgreSQL, the same
    query filtered by date as well was planned as a sequential scan of a freshly filled table without
    statistics (280 ms a batch on a million rows instead of 1 ms), and a scan that starts at the head
    each time walks again, on PostgreSQL, the rows earlier batches deleted (dead until vacuum).
    """
    size = batch_size or settings.HYGIENE_BATCH_SIZE
    queryset = queryset.order_by()
    every_row = queryset.model._base_manager.using(queryset.db).order_by()
    done = batches = 0
    last = None
    while True:
        after = {} if last is None else {"pk__gt": last}
        if time.monotonic() >= deadline:
            return {"done": done, "batches": batches, "left": queryset.filter(**after).count(), "complete": False}
        upper = every_row.filter(**after).order_by("pk").values_list("pk", flat=True)[size - 1 : size].first()
        in_range = after if upper is None else {**after, "pk__lte": upper}
        with transaction.atomic(using=queryset.db):
            touched = action(queryset.filter(**in_range))
        done += touched
        batches += 1
        if upper is None or (not touched and not every_row.filter(old, **in_range).exists()):
            return {"done": done, "batches": batches, "left": 0, "complete": True}
        last = upper


def fast_delete(queryset: models.QuerySet) -> int:
    """One DELETE statement. QuerySet.delete() would first load every row into memory if the model had
    delete signals or cascades; refuse that instead of silently doing it on a million rows."""
    if not Collector(using=queryset.db).can_fast_delete(queryset):
        raise TypeError(f"{queryset.model.__name__} has delete signals or cascades: not deletable in batches")
    return queryset.delete()[0]


def prune_older_than(model, *, field: str, cutoff: datetime, deadline: float, batch_size: int | None = None) -> dict:
    """Delete `model` rows whose `field` is before `cutoff`, in primary-key batches."""
    old = Q(**{f"{field}__lt": cutoff})
    result = walk_in_batches(
        model._default_manager.filter(old), fast_delete, old=old, deadline=deadline, batch_size=batch_size
    )
    result["deleted"] = result.pop("done")
    return result


def task_results_prune(*, deadline: float) -> dict:
    """Task and group results older than CELERY_RESULT_EXPIRES, from django-celery-results' tables.

    This replaces Celery's `celery.backend_cleanup` (disabled by core 0006), which calls
    django-celery-results' `delete_expired`: one `DELETE ... WHERE date_done < ...` in one transaction.
    On a million rows that is one long transaction holding its locks (on SQLite the database's only
    write lock, which the django:// broker needs for every message) and a growing WAL. Here every
    batch of HYGIENE_BATCH_SIZE rows is its own statement and transaction.

    The tables are cleaned whatever the result backend: on Redis they are normally empty (Redis
    expires each result itself: Celery stores it with SETEX and result_expires as the TTL), but they
    keep what an earlier database-mode run stored.
    """
    from django_celery_results.models import GroupResult, TaskResult

    expires = settings.CELERY_RESULT_EXPIRES
    if not expires:
        return {"deleted": 0, "complete": True, "kept": "CELERY_RESULT_EXPIRES is 0: results are kept"}
    seconds = expires.total_seconds() if isinstance(expires, timedelta) else float(expires)
    cutoff = timezone.now() - timedelta(seconds=seconds)
    tasks = prune_older_than(TaskResult, field="date_done", cutoff=cutoff, deadline=deadline)
    groups = prune_older_than(GroupResult, field="date_done", cutoff=cutoff, deadline=deadline)
    return {
        "backend": settings.CELERY_RESULT_BACKEND.split("://", 1)[0],
        "deleted": tasks["deleted"] + groups["deleted"],
        "task_results": tasks["deleted"],
        "group_results": groups["deleted"],
        "batches": tasks["batches"] + groups["batches"],
        "left": tasks["left"] + groups["left"],
        "complete": tasks["complete"] and groups["complete"],
    }


def _cache_step() -> dict:
    from core.cache_maintenance import cache_cleanup

    return cache_cleanup()


def _health_runs_step() -> dict:
    from core.health import health_runs_prune

    return {"deleted": health_runs_prune(batch_size=settings.HYGIENE_BATCH_SIZE)}  # HEALTH_RUN_RETENTION_DAYS


register_cleanup("cache", _cache_step)
register_cleanup("task_results", task_results_prune)
register_cleanup("health_runs", _health_runs_step)
