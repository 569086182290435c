"""Each worker process counts the tasks it runs and adds the counts to `TaskStat` rows about once a second.

Why counters in the database, written by the workers: they work on every broker and result backend
(Redis, django://, RabbitMQ; Redis or django-db results), they count tasks that store no result (the
bulk chunks, the e-mail batches) and give their real runtimes (prerun to postrun in the worker; a
stored result has no start time unless tracking is on), they never shrink when results expire, and
no long-running event consumer is needed: any web process reads the same rows. The price is one
small transaction per worker process per second while tasks end, made in a background thread, so a
task never waits for it. What is not counted: a run whose process died (SIGKILL, a hard time limit)
before its end was signalled; its redelivery is counted when it ends. Eagerly applied tasks (tests,
`task_always_eager`) are not counted either: they ran in no worker.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from celery.signals import task_postrun, task_prerun, worker_process_shutdown, worker_shutdown
from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import F

logger = logging.getLogger(__name__)

# Upper bounds (seconds) of the runtime histogram: tasks here take milliseconds (an e-mail) to minutes
# (a bulk coordinator, hard limit 300 s).
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
INF = "+Inf"


def bucket_for(seconds: float) -> str:
    """The label of the smallest bucket holding `seconds` (stored per bucket, summed up at scrape time)."""
    for bound in BUCKETS:
        if seconds <= bound:
            return format_bound(bound)
    return INF


def format_bound(bound: float) -> str:
    return repr(float(bound))  # "0.05", "1.0": the same text prometheus-client writes for `le`


class TaskRecorder:
    """Counts (task name, state, runtime bucket) in memory; a daemon thread adds them to the database."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a pool child starts empty, with its own thread

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._started: dict[str, float] = {}
        self._pending: dict[tuple[str, str, str], list] = {}
        self._thread: threading.Thread | None = None
        self._failing = False

    def started(self, task_id: str) -> None:
        self._started[task_id] = time.monotonic()

    def ended(self, task_id: str, name: str, state: str) -> None:
        began = self._started.pop(task_id, None)
        if began is None:
            return
        runtime = time.monotonic() - began
        key = (name[:200], (state or "UNKNOWN")[:20], bucket_for(runtime))
        with self._lock:
            entry = self._pending.setdefault(key, [0, 0.0])
            entry[0] += 1
            entry[1] += runtime
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="metrics-flush", daemon=True)
            self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(settings.METRICS_FLUSH_SECONDS)  # gather what ends meanwhile into the same write
            self._wake.clear()
            self.flush()
            connections.close_all()  # this thread's own connection only (Django's are per thread)

    def flush(self) -> None:
        """Add what was counted to the database; on failure keep it for the next try (nothing is lost)."""
        with self._lock:
            taken, self._pending = self._pending, {}
        if not taken:
            return
        try:
            _add_counts(taken)
        except Exception as exc:  # the database is down: the counts wait in memory (a few rows' worth)
            with self._lock:
                for key, (count, seconds) in taken.items():
                    entry = self._pending.setdefault(key, [0, 0.0])
                    entry[0] += count
                    entry[1] += seconds
            if not self._failing:
                logger.warning("metrics: could not write task counts, will retry: %s", type(exc).__name__)
            self._failing = True
            self._wake.set()
            return
        self._failing = False


def _add_counts(counts: dict[tuple[str, str, str], list]) -> None:
    from core.metrics.models import TaskStat

    # One transaction; keys in a fixed order, so two processes adding to the same rows cannot deadlock.
    with transaction.atomic():
        for (name, state, le), (count, seconds) in sorted(counts.items()):
            rows = TaskStat.objects.filter(task_name=name, state=state, le=le)
            if rows.update(count=F("count") + count, seconds=F("seconds") + seconds):
                continue
            try:
                with transaction.atomic():  # a savepoint: another process may create the row first
                    TaskStat.objects.create(task_name=name, state=state, le=le, count=count, seconds=seconds)
            except IntegrityError:
                rows.update(count=F("count") + count, seconds=F("seconds") + seconds)


recorder = TaskRecorder()


def _on_prerun(task_id=None, task=None, **kwargs) -> None:
    if task_id and task is not None and not task.request.is_eager:
        recorder.started(task_id)


def _on_postrun(task_id=None, task=None, state=None, **kwargs) -> None:
    if task_id and task is not None:
        recorder.ended(task_id, task.name, state)


def _on_shutdown(**kwargs) -> None:
    recorder.flush()  # a pool child that exits (shutdown, max tasks per child) writes what it still holds


def connect() -> None:
    task_prerun.connect(_on_prerun, weak=False, dispatch_uid="metrics-prerun")
    task_postrun.connect(_on_postrun, weak=False, dispatch_uid="metrics-postrun")
    worker_process_shutdown.connect(_on_shutdown, weak=False, dispatch_uid="metrics-process-shutdown")
    worker_shutdown.connect(_on_shutdown, weak=False, dispatch_uid="metrics-shutdown")
