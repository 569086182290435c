"""Workers replace their pool processes after CELERY_WORKER_MAX_TASKS_PER_CHILD tasks, or after a task that
left one above CELERY_WORKER_MAX_MEMORY_PER_CHILD KiB: a slow leak never stays with a worker for good."""

import pytest
from django.conf import settings

from backend.celery import app
from conftest import wait_until
from core.management.commands.start_celery import build_commands
from core.tests.probe_tasks import record


def pids_of_runs(path, count: int) -> list[str]:
    """The pool process ids of the first `count` finished probe tasks ('done <token> <pid>' lines)."""

    def done() -> list[str]:
        return [line.split()[2] for line in path.read_text().splitlines() if line.startswith("done")]

    wait_until(lambda: len(done()) >= count, timeout=60, message=f"{count} probe tasks done")
    return done()[:count]


def run_in_order(path, count: int) -> list[str]:
    """`count` probe tasks on a worker of concurrency 1: one pool process at a time runs them, in order."""
    for n in range(count):
        record.delay(str(path), f"t{n}")
    return pids_of_runs(path, count)


def test_the_settings_reach_the_celery_app_that_every_worker_command_loads():
    """`celery -A backend.celery worker` and `manage.py start_celery` (which runs that command line) read them
    from the app's configuration (the CELERY_ namespace), and no command-line flag overrides them."""
    assert app.conf.worker_max_tasks_per_child == settings.CELERY_WORKER_MAX_TASKS_PER_CHILD == 10_000
    assert app.conf.worker_max_memory_per_child == settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD == 512_000
    worker = build_commands(worker_only=True)["worker"]
    assert worker[:4] == ["celery", "-A", "backend.celery", "worker"]
    assert not any(arg.startswith(("--max-tasks-per-child", "--max-memory-per-child")) for arg in worker)


@pytest.mark.worker
def test_a_pool_process_is_replaced_after_max_tasks_per_child(start_worker, record_file):
    start_worker("recycle", queues="default", env={"CELERY_WORKER_MAX_TASKS_PER_CHILD": "2"})
    pids = run_in_order(record_file, 5)
    assert pids[0] == pids[1] and pids[2] == pids[3], pids  # two tasks per process...
    assert len({pids[0], pids[2], pids[4]}) == 3, pids  # ...then a new process


@pytest.mark.worker
def test_a_pool_process_over_max_memory_per_child_is_replaced_after_its_task(start_worker, record_file):
    # 1 KiB: every process is above it after any task, so each task gets a fresh process.
    start_worker("recycle-memory", queues="default", env={"CELERY_WORKER_MAX_MEMORY_PER_CHILD": "1"})
    pids = run_in_order(record_file, 3)
    assert len(set(pids)) == 3, pids
