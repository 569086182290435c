"""The daily cleanup (core/hygiene.py): expired task results go in short batches, within a time budget."""

from __future__ import annotations

import time
import tracemalloc
from datetime import timedelta

import pytest
from celery import current_app
from django.apps import apps
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler
from django_celery_results.models import GroupResult, TaskResult

from core import hygiene
from core.hygiene import CleanupFailed, daily_cleanup, register_cleanup, task_results_prune
from core.tasks import cleanup_expired_cache

replace_backend_cleanup = __import__("core.migrations.0006_daily_cleanup_replaces_backend_cleanup", fromlist=["x"])
TABLE = TaskResult._meta.db_table
ON_POSTGRES = connection.vendor == "postgresql"


def insert_results(count: int, *, age: timedelta, prefix: str) -> None:
    """`count` results finished `age` ago, in one INSERT ... SELECT (a million rows in seconds, not minutes)."""
    done = connection.ops.adapt_datetimefield_value(timezone.now() - age)
    columns = "task_id, status, content_type, content_encoding, result, date_done, date_created, task_name"
    row = "%s || n, 'SUCCESS', 'application/json', 'utf-8', '{\"ok\": true}', %s, %s, 'core.tasks.health_check'"
    with connection.cursor() as cursor:
        if ON_POSTGRES:
            cursor.execute(
                f"INSERT INTO {TABLE} ({columns}) SELECT {row} FROM generate_series(1, %s) AS n",
                [prefix, done, done, count],
            )
        else:
            cursor.execute(
                f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %s) "
                f"INSERT INTO {TABLE} ({columns}) SELECT {row} FROM s",
                [count, prefix, done, done],
            )


class StatementLog:
    """Every DELETE on the results table, with its duration and row count (a real cursor, nothing faked)."""

    def __init__(self):
        self.deletes: list[tuple[float, int]] = []

    def __call__(self, execute, sql, params, many, context):
        if not (sql.startswith("DELETE") and TABLE in sql):
            return execute(sql, params, many, context)
        started = time.perf_counter()
        result = execute(sql, params, many, context)
        self.deletes.append((time.perf_counter() - started, context["cursor"].rowcount))
        return result


def far_deadline() -> float:
    return time.monotonic() + 600


@pytest.mark.django_db(transaction=True)  # each batch commits on its own, as in production
def test_expired_results_are_deleted_in_batches_and_the_rest_kept(settings):
    settings.HYGIENE_BATCH_SIZE = 1000
    settings.CELERY_RESULT_EXPIRES = 7 * 24 * 3600
    insert_results(10_500, age=timedelta(days=8), prefix="old-")
    insert_results(300, age=timedelta(days=6), prefix="recent-")
    GroupResult.objects.create(group_id="old-group", result="[]")
    GroupResult.objects.filter(group_id="old-group").update(date_done=timezone.now() - timedelta(days=8))

    log = StatementLog()
    with connection.execute_wrapper(log):
        result = task_results_prune(deadline=far_deadline())

    assert result["task_results"] == 10_500 and result["group_results"] == 1
    assert (result["left"], result["complete"]) == (0, True)
    assert [rows for _, rows in log.deletes] == [1000] * 10 + [500]  # one short statement per batch
    assert TaskResult.objects.count() == 300
    assert not TaskResult.objects.filter(task_id__startswith="old-").exists()
    assert not GroupResult.objects.exists()
    assert task_results_prune(deadline=far_deadline())["deleted"] == 0


@pytest.mark.django_db(transaction=True)
def test_the_daily_task_reports_counts_per_step_and_keeps_results_when_expiry_is_off(settings):
    insert_results(5, age=timedelta(days=30), prefix="old-")
    settings.CELERY_RESULT_EXPIRES = 0
    kept = cleanup_expired_cache()
    assert kept["steps"]["task_results"]["deleted"] == 0 and TaskResult.objects.count() == 5

    settings.CELERY_RESULT_EXPIRES = 24 * 3600
    result = cleanup_expired_cache()
    assert list(result["steps"])[:4] == ["cache", "task_results", "health_runs", "notifications"]
    assert result["steps"]["task_results"]["task_results"] == 5
    assert result["complete"] is True
    assert not TaskResult.objects.exists()


@pytest.fixture
def extra_steps():
    """Steps a test registers are removed afterwards (the registry is process-wide)."""
    before = dict(hygiene._steps)
    yield
    hygiene._steps.clear()
    hygiene._steps.update(before)


@pytest.mark.django_db(transaction=True)
def test_a_step_past_the_budget_is_skipped_and_the_next_run_takes_it_up(settings, extra_steps):
    """The steps after the one that spent the budget do not run; the next day's run does them."""
    settings.CELERY_RESULT_EXPIRES = 24 * 3600
    insert_results(50, age=timedelta(days=2), prefix="old-")
    hygiene._steps.clear()
    register_cleanup("slow", lambda: time.sleep(0.3) or 0)
    register_cleanup("task_results", task_results_prune)

    first = daily_cleanup(budget_seconds=0.2)
    assert first["steps"]["task_results"] == {"skipped": "time budget spent"}
    assert first["complete"] is False
    assert TaskResult.objects.count() == 50

    second = daily_cleanup(budget_seconds=10)
    assert second["complete"] is True and second["steps"]["task_results"]["deleted"] == 50


@pytest.mark.django_db
def test_a_failing_step_does_not_stop_the_others_and_fails_the_run(extra_steps):
    ran = []

    def broken(*, deadline):
        raise RuntimeError("the disk is full")

    hygiene._steps.clear()
    register_cleanup("broken", broken)
    register_cleanup("after", lambda: ran.append("after") or {"deleted": 3})
    with pytest.raises(CleanupFailed, match="broken") as failure:
        daily_cleanup()
    assert ran == ["after"]
    assert "the disk is full" not in str(failure.value)  # the type only: an error text may quote data


@pytest.mark.django_db(transaction=True)  # beat's start-up closes Django's connections (Celery's Django fixup)
def test_celerys_own_single_delete_cleanup_is_disabled_and_beat_leaves_it_so():
    """Two cleanups would fight over the same rows: ours replaces celery.backend_cleanup (core 0006)."""
    PeriodicTask.objects.all().delete()  # what migrate leaves, whatever an earlier test flushed
    for name in ("0001_periodic_tasks", "0002_cache_periodic_tasks"):
        __import__(f"core.migrations.{name}", fromlist=["install"]).install(apps, None)
    replace_backend_cleanup.forwards(apps, None)
    row = PeriodicTask.objects.get(name="celery.backend_cleanup")
    assert row.enabled is False
    DatabaseScheduler(app=current_app, lazy=False)  # what every beat start runs: it updates this row
    row.refresh_from_db()
    assert row.enabled is False
    assert PeriodicTask.objects.get(name="cleanup_expired_cache").enabled

    # Why disabled and not deleted: beat puts a missing row back, enabled.
    row.delete()
    DatabaseScheduler(app=current_app, lazy=False)
    assert PeriodicTask.objects.get(name="celery.backend_cleanup").enabled is True


@pytest.mark.django_db(transaction=True)
def test_a_million_expired_results_are_cleaned_in_bounded_memory_and_short_statements(settings):
    """On both databases: SQLite is where one long DELETE hurts most (it would hold the only write lock,
    which the django:// broker needs for every message). Measured: ~13 s on SQLite, ~15 s on PostgreSQL,
    most of it seeding the million rows."""
    settings.HYGIENE_BATCH_SIZE = 5000
    settings.CELERY_RESULT_EXPIRES = 24 * 3600
    started = time.perf_counter()
    insert_results(1_000_000, age=timedelta(days=3), prefix="m-")
    insert_results(1000, age=timedelta(hours=1), prefix="live-")
    seeded = time.perf_counter() - started

    # A short budget: it stops between two batches and says what is left; nothing is cut mid-statement.
    # 0.1 s: on a quiet machine PostgreSQL deletes the whole million within a one-second budget.
    partial = task_results_prune(deadline=time.monotonic() + 0.1)
    assert partial["complete"] is False and partial["left"] > 0
    assert partial["task_results"] + partial["left"] == 1_000_000

    log = StatementLog()
    tracemalloc.start()
    started = time.perf_counter()
    with connection.execute_wrapper(log):
        rest = task_results_prune(deadline=time.monotonic() + 120)
    took = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert rest["complete"] is True and partial["task_results"] + rest["task_results"] == 1_000_000
    assert TaskResult.objects.count() == 1000 and not TaskResult.objects.filter(task_id__startswith="m-").exists()
    assert max(rows for _, rows in log.deletes) <= 5000
    longest = max(seconds for seconds, _ in log.deletes)
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert longest < 2.0, f"the longest DELETE held its locks {longest:.2f} s"
    print(
        f"\n1M results: seeded in {seeded:.1f} s; cleaned in {partial['batches']} + {rest['batches']} batches, "
        f"{took:.1f} s for the last {rest['task_results']:,}; longest DELETE {longest * 1000:.0f} ms, all DELETEs "
        f"{sum(s for s, _ in log.deletes):.1f} s; "
        f"peak traced memory {peak / 1e6:.2f} MB"
    )


@pytest.mark.django_db
def test_the_daily_cleanup_prunes_stored_health_runs(settings):
    from core.models import HealthCheckRun

    settings.HEALTH_RUN_RETENTION_DAYS = 30
    for days in (40, 35, 1, 0):
        started = timezone.now() - timedelta(days=days)
        HealthCheckRun.objects.create(started_at=started, finished_at=started, duration_ms=1, status="healthy")
    result = cleanup_expired_cache(only=["health_runs"])
    assert result["steps"]["health_runs"]["deleted"] == 2 and list(result["steps"]) == ["health_runs"]
    assert HealthCheckRun.objects.count() == 2


@pytest.mark.skipif(
    not current_app.conf.result_backend.startswith("redis"), reason="the Redis result backend (run 2 of the suite)"
)
def test_on_redis_each_result_is_stored_with_the_expiry_as_its_ttl(settings):
    """Why the daily cleanup has nothing to delete on Redis: Redis drops each result itself."""
    backend = current_app.backend
    backend.store_result("hygiene-ttl-probe", {"ok": True}, "SUCCESS")
    key = backend.get_key_for_task("hygiene-ttl-probe")
    try:
        ttl = backend.client.ttl(key)
        assert settings.CELERY_RESULT_EXPIRES - 60 < ttl <= settings.CELERY_RESULT_EXPIRES
    finally:
        backend.client.delete(key)
