"""The Celery app test workers run (`celery -A core.tests.worker_app worker`): ours plus probe tasks.

Test hooks, all off unless their environment variable is set (never used by the product):
- TEST_KILL_AFTER_TASK=<task name> and TEST_KILL_MARKER=<path>: the whole worker (main process and
  pool) is killed with SIGKILL right after that task succeeded and before its message is
  acknowledged, once (the marker file says it happened): "killed after the work, before the ack".
- TEST_TASK_DELAY="<task name>=<seconds>[,...]": sleep that long before each run of that task
  (task_prerun), so a job lasts long enough for a fault to land in the middle of it.
- TEST_CALL_DELAY="<module>:<function>=<seconds>[,...]": wrap that module-level function so each call
  sleeps first, e.g. "claims.services:adjudicate_claims_in_transaction=0.3" slows every chunk inside
  its transaction, whoever runs it (the coordinator or a chunk task). Patched in each worker process
  before its first task; a name that does not exist is logged and ignored.
- TEST_BROKER_MAX_DELIVERIES=<n>: the django:// transport's `max_deliveries` option (deliveries
  before a message goes to the dead-letter table), so a test need not wait for ten crashes.
- TEST_PUBLISH_LOG=<path>: every task message the worker publishes (body and headers, before the
  transport encodes them) is appended to that file, to be searched for personal data.
"""

import functools
import importlib
import logging
import os
import signal
import time
from pathlib import Path

from celery.signals import before_task_publish, task_prerun, task_success

from backend.celery import app
from core.tests import probe_tasks  # noqa: F401 - registers the probe tasks

__all__ = ("app",)

logger = logging.getLogger(__name__)


def _delays(variable: str) -> dict[str, float]:
    pairs = (item.rsplit("=", 1) for item in os.environ.get(variable, "").split(",") if "=" in item)
    return {name.strip(): float(seconds) for name, seconds in pairs}


if os.environ.get("TEST_BROKER_MAX_DELIVERIES"):
    app.conf.broker_transport_options = {
        **(app.conf.broker_transport_options or {}),
        "max_deliveries": int(os.environ["TEST_BROKER_MAX_DELIVERIES"]),
    }

if os.environ.get("TEST_PUBLISH_LOG"):

    @before_task_publish.connect(weak=False)
    def _record_published(body=None, headers=None, **kwargs):
        with open(os.environ["TEST_PUBLISH_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{body!r} {headers!r}\n")


TASK_DELAYS = _delays("TEST_TASK_DELAY")
CALL_DELAYS = _delays("TEST_CALL_DELAY")
_patched_in: set[int] = set()  # pids whose functions are wrapped (pool children are forked)


def _slowed(function, seconds: float):
    @functools.wraps(function)
    def slow(*args, **kwargs):
        time.sleep(seconds)
        return function(*args, **kwargs)

    return slow


def _patch_call_delays() -> None:
    if os.getpid() in _patched_in:
        return
    _patched_in.add(os.getpid())
    for target, seconds in CALL_DELAYS.items():
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
            setattr(module, attribute, _slowed(getattr(module, attribute), seconds))
        except (ImportError, AttributeError) as exc:
            logger.warning("TEST_CALL_DELAY: cannot slow %s: %s", target, exc)


@task_prerun.connect
def _test_delays(sender=None, **kwargs):
    if CALL_DELAYS:
        _patch_call_delays()
    if sender is not None and sender.name in TASK_DELAYS:
        time.sleep(TASK_DELAYS[sender.name])


@task_success.connect
def _kill_worker_before_the_ack(sender=None, **kwargs):
    name, marker = os.environ.get("TEST_KILL_AFTER_TASK"), os.environ.get("TEST_KILL_MARKER")
    if not name or not marker or sender is None or sender.name != name or Path(marker).exists():
        return
    Path(marker).write_text("killed\n")
    os.killpg(os.getpgrp(), signal.SIGKILL)


# Shutdown hooks (test_broker_shutdown.py):
# - TEST_SHUTDOWN_MARGIN=<seconds>: core.broker.SHUTDOWN_MARGIN, the watchdog's margin past the longest
#   task time limit, so a test need not wait minutes for it.
# - TEST_HANG_AT_POOL_FINISH=1: billiard's Pool._help_stuff_finish (the pool finaliser at exit) blocks
#   for good in the main process, as the hang seen in production did.
if os.environ.get("TEST_SHUTDOWN_MARGIN"):
    import core.broker

    core.broker.SHUTDOWN_MARGIN = float(os.environ["TEST_SHUTDOWN_MARGIN"])

if os.environ.get("TEST_HANG_AT_POOL_FINISH") == "1":
    from billiard.pool import Pool as _BilliardPool

    def _hang(*args, **kwargs):
        logger.warning("TEST_HANG_AT_POOL_FINISH: hanging in Pool._help_stuff_finish")
        time.sleep(3600)

    _BilliardPool._help_stuff_finish = staticmethod(_hang)
