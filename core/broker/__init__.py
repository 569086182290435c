"""`django://`: a kombu virtual transport on the Django ORM's database (DESIGN.md, "Broker ...").

Messages are leased, not taken; ack deletes; a dead worker's leases run out and its messages
are delivered again. See transport.py for the mechanics and README.md for the trade-offs.
"""

import contextlib
import logging
import os
import signal
import threading
import time

TRANSPORT_PATH = "core.broker.transport:Transport"
SHUTDOWN_MARGIN = 15.0  # seconds past the longest task time limit a warm shutdown may take
SHUTDOWN_EXIT_CODE = 70  # EX_SOFTWARE: a supervisor sees that this shutdown did not finish by itself

logger = logging.getLogger(__name__)
_armed = threading.Event()
_worker_process = threading.Event()


def register_transport() -> None:
    """Make the broker URL `django://` resolve to our transport in this process, and bound a worker's
    warm shutdown (see `install_shutdown_watchdog`)."""
    from kombu.transport import TRANSPORT_ALIASES

    TRANSPORT_ALIASES.setdefault("django", TRANSPORT_PATH)
    install_shutdown_watchdog()


def shutdown_bound() -> float:
    """The longest a worker's shutdown may take: no task runs longer than LONGEST_TASK_TIME_LIMIT (its
    hard limit kills it), so past that plus a margin the worker is stuck, not busy."""
    from django.conf import settings

    return float(getattr(settings, "LONGEST_TASK_TIME_LIMIT", 360)) + SHUTDOWN_MARGIN


def install_shutdown_watchdog() -> None:
    """Once a worker starts shutting down (SIGTERM, SIGINT, `control shutdown`), it exits within
    `shutdown_bound()` seconds whatever happens.

    Seen about once in eight warm shutdowns under load: the main process, its tasks finished, hung for
    good in billiard's `Pool._help_stuff_finish` (the pool's finaliser, which takes the task queue's
    cross-process read lock before draining it; why that lock was never free again is not pinned
    down). Nothing is lost by cutting that short: every running task has finished or hit its hard
    time limit by then, and what the worker still holds unacked is delivered again (django:// leases
    run out; Redis's visibility timeout). The pool children are killed with the main process.

    Only a `celery worker` process (the command line's worker, which sends `celeryd_after_setup`) is
    watched; a worker embedded in another process (celery.contrib.testing) is not.
    """
    from celery.signals import celeryd_after_setup, worker_shutdown, worker_shutting_down

    celeryd_after_setup.connect(_is_a_worker, weak=False, dispatch_uid="core.broker.shutdown_watchdog.setup")
    worker_shutting_down.connect(_arm, weak=False, dispatch_uid="core.broker.shutdown_watchdog")
    worker_shutdown.connect(_arm, weak=False, dispatch_uid="core.broker.shutdown_watchdog.late")


def _is_a_worker(sender=None, **kwargs) -> None:
    _worker_process.set()


def _arm(sender=None, **kwargs) -> None:
    if _armed.is_set() or not _worker_process.is_set():
        return
    _armed.set()
    bound = shutdown_bound()
    deadline = time.monotonic() + bound
    threading.Thread(target=_watch, args=(deadline, bound), name="shutdown-watchdog", daemon=True).start()


def _watch(deadline: float, bound: float) -> None:
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
    logger.error(
        "Worker shutdown still not finished after %.0f s (LONGEST_TASK_TIME_LIMIT + %.0f s): exiting now; "
        "unacked messages are delivered again",
        bound,
        SHUTDOWN_MARGIN,
    )
    _kill_pool_children()
    os._exit(SHUTDOWN_EXIT_CODE)


def _kill_pool_children() -> None:
    try:
        from billiard.process import active_children

        children = active_children()
    except Exception:  # no billiard pool (solo, threads): nothing to kill
        return
    for child in children:
        with contextlib.suppress(OSError, TypeError):
            os.kill(child.pid, signal.SIGKILL)
