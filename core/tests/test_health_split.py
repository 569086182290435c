"""The health check sees a split brain: processes that chose different brokers, caches or queues (issue 9 §1)."""

import pytest

from backend.celery import app
from conftest import broker_kind, port_open
from core.health import run_health_checks

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

REDIS_TEST = "redis://127.0.0.1:6379/14"
needs_redis = pytest.mark.skipif(not port_open(6379), reason="Redis is not running")


def workers_check(timeout: float = 2.0) -> dict:
    return run_health_checks(ping_workers=True, ping_timeout=timeout)["checks"]["workers"]


def test_a_worker_on_the_same_broker_cache_and_database_is_up(start_worker):
    start_worker("same")
    check = workers_check()
    assert check["status"] == "up", check
    [mode] = check["modes"].values()
    assert "default" in mode["queues"]


@needs_redis
def test_a_worker_that_chose_the_other_broker_makes_the_system_unhealthy(start_worker, settings):
    if broker_kind() == "django":  # we publish to the database; the worker consumes Redis
        settings.REDIS_URL = REDIS_TEST  # what a dev process whose probe failed still has configured
        start_worker(
            "other", env={"CELERY_BROKER_URL": REDIS_TEST, "CELERY_RESULT_BACKEND": REDIS_TEST, "REDIS_URL": REDIS_TEST}
        )
    elif broker_kind() == "redis":  # we publish to Redis; the worker consumes the database
        start_worker(
            "other", env={"CELERY_BROKER_URL": "django://", "CELERY_RESULT_BACKEND": "django-db", "REDIS_URL": ""}
        )
    else:
        pytest.skip("the Redis/database split is a question of the embedded default's two brokers")
    summary = run_health_checks(ping_workers=True, ping_timeout=2.0)
    check = summary["checks"]["workers"]
    assert summary["healthy"] is False and check["status"] == "split", check
    assert any("other-" in problem and "not this process's broker" in problem for problem in check["problems"])


@pytest.mark.skipif(broker_kind() != "redis", reason="a second cache on the same broker needs the Redis broker")
def test_a_worker_on_our_broker_with_another_cache_is_a_split(start_worker):
    start_worker("dbcache", env={"REDIS_URL": ""})  # explicit broker URL, but no Redis cache
    check = workers_check()
    assert check["status"] == "split", check
    assert any("uses cache 'DatabaseCache'" in problem for problem in check["problems"]), check["problems"]


def test_a_queue_with_ready_messages_and_no_consumer_is_a_split(start_worker):
    app.control.purge()
    start_worker("default-only", queues="default")
    app.send_task("core.tests.probe_tasks.record", args=["x", "nowhere"], queue="reports")
    check = workers_check()
    assert check["status"] == "split", check
    assert any("queue 'reports' has 1 ready message(s) and no worker consumes it" in p for p in check["problems"])
    app.control.purge()
