"""core/tasks.py is the seed's facade: the six tasks import from it under their seed names, wherever their
code lives; and a service enqueues a task by name in a process that never imported a tasks module."""

import json
import os
import subprocess
import sys

from conftest import ROOT

SEED_TASKS = (
    "process_bulk_claims",
    "send_notification_email",
    "generate_daily_reports",
    "cache_warmup",
    "cleanup_expired_cache",
    "health_check",
)


def test_the_seed_tasks_import_from_core_tasks_under_their_seed_names():
    from core import tasks

    names = {name: getattr(tasks, name).name for name in SEED_TASKS}
    assert names == {name: f"core.tasks.{name}" for name in SEED_TASKS}
    assert tasks.process_bulk_claims.__module__ == "claims.tasks"  # the code lives with the claims


FRESH_PROCESS = (
    "import json, sys, django; django.setup();"
    "before = sorted(m for m in sys.modules if m.endswith('.tasks') and m.split('.')[0] != 'asyncio');"
    "from core.enqueue import task_named;"
    "names = [task_named(n).name for n in ('core.tasks.process_bulk_claims', 'claims.tasks.adjudicate_chunk',"
    " 'notifications.tasks.send_notification_batch')];"
    "print(json.dumps({'before': before, 'names': names, 'base': type(task_named('core.tasks.process_bulk_claims'))"
    ".__mro__[1].__name__}))"
)


def test_a_service_gets_the_task_itself_by_name_in_a_process_that_imported_no_tasks_module():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "CELERY_RESULT_BACKEND": "",
        "DATABASE_URL": f"sqlite:///{ROOT / 'data' / 'facade-probe.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["before"] == []  # a web process: nothing had registered the tasks yet
    assert found["names"] == [
        "core.tasks.process_bulk_claims",
        "claims.tasks.adjudicate_chunk",
        "notifications.tasks.send_notification_batch",
    ]
    assert found["base"] == "BulkJobTask"  # the task object, store-first hook included, not a bare signature
