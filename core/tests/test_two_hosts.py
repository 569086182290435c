"""Several worker hosts against one broker: Celery's own routing and remote control (issue 11, "Deploying").

Two `celery worker` processes stand for two hosts: different node names (`-n`) and different queue sets
(`-Q`), one broker, one database. Nothing here is ours: the seed's routes (CELERY_TASK_ROUTES) put each
task on its queue, the broker hands it to whichever node consumes that queue, and the pidbox (remote
control, which needs neither gossip nor mingle, both off in these workers) reaches each node by name.

Each test run's broker (django:// in runs 1 and 3, Redis in run 2), and RabbitMQ once, in run 2.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess

import pytest
from celery import Celery

import core.tasks  # noqa: F401 - registers the seed's tasks in this process, as a worker does
from backend.celery import app as configured_app
from conftest import broker_kind, port_open, wait_until  # noqa: F401 - broker_kind: in a skipif string
from core.store_first import StoreFirstCelery

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
# Host A takes the interactive work, host B the scheduled reporting and monitoring.
HOST_A_QUEUES = ("default", "cache")
HOST_B_QUEUES = ("reports", "monitoring")
# Every seed task, published as the seed's callers do, and the queue its route names.
SEED_TASKS = {
    "core.tasks.process_bulk_claims": ((), {"claim_ids": [1]}, "default"),
    "core.tasks.send_notification_email": (
        (),
        {
            "recipient_email": "user@example.com",
            "subject": "Claim Approved",
            "message": "Your claim has been approved.",
        },
        "default",
    ),
    "core.tasks.cache_warmup": ((), {}, "cache"),
    "core.tasks.cleanup_expired_cache": ((), {}, "cache"),
    "core.tasks.generate_daily_reports": ((), {}, "reports"),
    "core.tasks.health_check": ((), {}, "monitoring"),
}
REPLY_TIMEOUT = 5.0  # seconds a broadcast waits for replies; it returns as soon as every destination answered


def node_name(name: str) -> str:
    """The node name the start_worker fixture gives (`-n <name>-<pid>@%h`, %h = this host's name)."""
    return f"{name}-{os.getpid()}@{socket.gethostname()}"


def client_app(broker: str) -> Celery:
    """The app this test publishes and sends remote control through: the project's own, or one on RabbitMQ."""
    if broker == "configured":
        return configured_app
    app = StoreFirstCelery("two-hosts-client", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=AMQP_URL, result_backend="django-db")
    return app


def broker_env(broker: str) -> dict[str, str]:
    if broker == "configured":
        return {}
    return {"CELERY_BROKER_URL": AMQP_URL, "CELERY_RESULT_BACKEND": "django-db"}


def skip_unless_rabbitmq_runs(broker: str) -> None:
    if broker == "configured":
        return
    if not port_open(5672):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("RabbitMQ is not running on 127.0.0.1:5672 and REQUIRE_SERVICES=1")
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672")


def publish(app: Celery, name: str):
    args, kwargs, _ = SEED_TASKS[name]
    return app.send_task(name, args, kwargs)  # routed by CELERY_TASK_ROUTES, as delay() is


def ran_on(result, workers: dict) -> str:
    """The node that ran a task: the stored result says so (result_extended), and only its log has the id."""
    result.get(timeout=60, propagate=True)
    node = result.worker
    logs = {name: worker.log for name, worker in workers.items()}
    received = [name for name, log in logs.items() if f"[{result.id}] received" in log]
    assert received == [node], f"{result.id} ran on {node}, its log lines are in {received}"
    return node


def queues_by_node(app: Celery, nodes: list[str]) -> dict[str, set[str]]:
    replies = app.control.inspect(destination=nodes, timeout=REPLY_TIMEOUT).active_queues() or {}
    return {node: {queue["name"] for queue in queues} for node, queues in replies.items()}


# RabbitMQ once per suite, in the services run; skipped before the fixtures, so other runs pay nothing.
ONCE_ON_RABBITMQ = pytest.mark.skipif("broker_kind() != 'redis'", reason="RabbitMQ: in the services run only")


@pytest.mark.parametrize("broker", ["configured", pytest.param("amqp", marks=ONCE_ON_RABBITMQ)])
def test_two_hosts_each_run_their_queues_and_answer_remote_control(start_worker, broker):
    skip_unless_rabbitmq_runs(broker)
    app = client_app(broker)
    env = broker_env(broker)
    a_name, b_name = node_name("host-a"), node_name("host-b")
    host_a = start_worker("host-a", queues=",".join(HOST_A_QUEUES), env=env, wait=False)
    host_b = start_worker("host-b", queues=",".join(HOST_B_QUEUES), env=env, wait=False)
    host_a.wait_for_log(" ready.")
    host_b.wait_for_log(" ready.")
    workers = {a_name: host_a, b_name: host_b}
    try:
        # Both nodes answer a broadcast, and each says which queues it consumes.
        pongs = {
            node: reply
            for answer in app.control.ping(destination=[a_name, b_name], timeout=REPLY_TIMEOUT)
            for node, reply in answer.items()
        }
        assert pongs == {a_name: {"ok": "pong"}, b_name: {"ok": "pong"}}
        assert queues_by_node(app, [a_name, b_name]) == {a_name: set(HOST_A_QUEUES), b_name: set(HOST_B_QUEUES)}

        # Routing: every seed task runs on the node that consumes its queue, and only there.
        results = {name: publish(app, name) for name in SEED_TASKS}
        expected = {name: a_name if queue in HOST_A_QUEUES else b_name for name, (_, _, queue) in SEED_TASKS.items()}
        assert {name: ran_on(result, workers) for name, result in results.items()} == expected

        # Remote control by node name: B stops consuming `reports`, A starts; the next report runs on A.
        cancelled = app.control.cancel_consumer("reports", destination=[b_name], reply=True, timeout=REPLY_TIMEOUT)
        assert cancelled == [{b_name: {"ok": "no longer consuming from reports"}}]
        added = app.control.add_consumer("reports", destination=[a_name], reply=True, timeout=REPLY_TIMEOUT)
        assert added == [{a_name: {"ok": "add consumer reports"}}]
        # The reply comes first and the worker acts on its next loop turn (Celery's call_soon): wait for it.
        moved = {a_name: {*HOST_A_QUEUES, "reports"}, b_name: set(HOST_B_QUEUES) - {"reports"}}
        wait_until(lambda: queues_by_node(app, [a_name, b_name]) == moved, 10, f"active_queues became {moved}")
        assert ran_on(publish(app, "core.tasks.generate_daily_reports"), workers) == a_name
    finally:
        # Both hosts shut down side by side (warm shutdown, as systemd's stop does), not one after the other.
        for worker in workers.values():
            worker.signal(signal.SIGTERM)
        for worker in workers.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.proc.wait(timeout=15)  # the fixture kills what is still running
        if app is not configured_app:
            app.close()
