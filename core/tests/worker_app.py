"""The Celery app test workers run (`celery -A core.tests.worker_app worker`): ours plus probe tasks.

Test hook: with TEST_KILL_AFTER_TASK=<task name> and TEST_KILL_MARKER=<path>, the whole worker (main
process and pool) is killed with SIGKILL right after that task succeeded and before its message is
acknowledged, once (the marker file says it happened): "killed after the work, before the ack".
"""

import os
import signal
from pathlib import Path

from celery.signals import task_success

from backend.celery import app
from core.tests import probe_tasks  # noqa: F401 - registers the probe tasks

__all__ = ("app",)


@task_success.connect
def _kill_worker_before_the_ack(sender=None, **kwargs):
    name, marker = os.environ.get("TEST_KILL_AFTER_TASK"), os.environ.get("TEST_KILL_MARKER")
    if not name or not marker or sender is None or sender.name != name or Path(marker).exists():
        return
    Path(marker).write_text("killed\n")
    os.killpg(os.getpgrp(), signal.SIGKILL)
