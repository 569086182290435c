"""Redelivery and poison messages with real worker processes (issue 9 §3).

The reject-with-requeue test runs on every broker (Redis marks a restored message redelivered too);
the SIGKILL / dead-letter one is about django:// and skips on the others.
"""

import time

import pytest

from conftest import broker_kind, wait_until  # noqa: F401 - broker_kind: the skipif condition
from core.broker.dead_letters import dead_letter_count
from core.broker.models import DeadLetter, Message
from core.tests.probe_tasks import kill_my_worker, reject_once
from core.tests.test_broker_worker import short_lease_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def runs(path, token):
    """[(what, redelivered flag)] of the lines a probe task wrote for `token`, in order."""
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [(parts[0], parts[3]) for parts in lines if parts[1] == token]


def test_a_task_rejected_with_requeue_comes_back_marked_redelivered_and_succeeds(start_worker, record_file):
    """Celery's test_reject_with_requeue_redelivers_and_succeeds: before, django:// redelivered the
    message every ~10 ms forever, never marked as redelivered."""
    start_worker("rejecter")
    reject_once.delay(str(record_file), "once")
    wait_until(lambda: ("done", "redelivered=True") in runs(record_file, "once"), 30, "the redelivery succeeded")
    time.sleep(1.0)  # room for a wrong further delivery to show up
    assert runs(record_file, "once") == [
        ("start", "redelivered=False"),
        ("start", "redelivered=True"),
        ("done", "redelivered=True"),
    ]


@pytest.mark.skipif("broker_kind() != 'django'", reason="the dead-letter table is a django:// feature")
def test_a_message_that_kills_its_worker_every_time_ends_in_the_dead_letter_table(start_worker, record_file):
    """A poison message SIGKILLs its whole worker on every delivery. Each restart gets it again once
    the lease runs out, marked redelivered; after the limit (3 here) it goes to the dead-letter table
    and the worker that found it there lives on."""
    env = {**short_lease_env(), "TEST_BROKER_MAX_DELIVERIES": "3"}
    kill_my_worker.delay(str(record_file), "poison")
    deadline = time.monotonic() + 80
    workers = []
    while not dead_letter_count():
        assert time.monotonic() < deadline, f"not dead-lettered in time: {runs(record_file, 'poison')}"
        assert len(workers) < 6, f"too many workers died: {runs(record_file, 'poison')}"
        worker = start_worker(f"victim-{len(workers)}", env=env)
        workers.append(worker)
        while worker.proc.poll() is None and not dead_letter_count() and time.monotonic() < deadline:
            time.sleep(0.1)
    last = workers[-1]
    last.wait_for_log("moved to the dead-letter table", timeout=10)
    assert last.proc.poll() is None, "the worker that dead-lettered the message died"
    assert [worker.proc.returncode for worker in workers[:-1]] == [-9, -9, -9]
    assert runs(record_file, "poison") == [
        ("start", "redelivered=False"),
        ("start", "redelivered=True"),
        ("start", "redelivered=True"),
    ]
    letter = DeadLetter.objects.get()
    assert letter.deliveries == 3 and letter.queue == "default"
    assert '"probe.kill_my_worker"' in letter.payload
    assert not Message.objects.filter(queue="default").exists()
