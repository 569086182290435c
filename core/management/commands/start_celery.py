"""`manage.py start_celery`: the Celery worker and beat in one terminal, started and stopped together.

It runs the same `celery -A backend.celery ...` command lines an operator would type in production
(printed first, so they can be copied) as child processes and supervises them: if one exits on its
own the others are stopped and the command fails; Ctrl-C or SIGTERM stops them all gracefully and
exits 0. POSIX only (process groups and signals).

Worker settings (time limits, prefetch, CELERY_WORKER_MAX_TASKS_PER_CHILD and _MAX_MEMORY_PER_CHILD, ...)
come from the app's configuration (backend/settings.py, namespace CELERY_), which the worker loads with
`-A backend.celery`; these command lines pass no flag for them, so both ways of starting get the same values.
"""

import contextlib
import ctypes
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

logger = logging.getLogger(__name__)

CELERY_APP = "backend.celery"
BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
# Celery's warm shutdown lets running tasks finish; a task still running after this is killed, and
# acks_late + reject_on_worker_lost (settings) put its message back on the queue.
STOP_TIMEOUT = 30.0
POLL_INTERVAL = 0.2  # seconds between checks that the children are alive
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def build_commands(
    *,
    worker_only: bool = False,
    beat_only: bool = False,
    loglevel: str = "info",
    concurrency: int | None = None,
    queues: str | None = None,
) -> dict[str, list[str]]:
    """The celery command lines to run, by role ("worker", "beat"), exactly as an operator types them."""
    if worker_only and beat_only:
        raise CommandError("--worker-only and --beat-only are mutually exclusive (give neither to run both)")
    if beat_only and (concurrency is not None or queues is not None):
        raise CommandError("--concurrency and --queues are worker options; they make no sense with --beat-only")
    if concurrency is not None and concurrency < 1:
        raise CommandError(f"--concurrency must be a positive integer, got {concurrency}")
    if loglevel.lower() not in LOG_LEVELS:
        raise CommandError(f"--loglevel must be one of {', '.join(LOG_LEVELS)}, got {loglevel!r}")

    known = settings.TASK_QUEUE_NAMES
    wanted = ",".join(known) if queues is None else queues
    # Duplicates dropped, order kept: the line should read the way the operator wrote it.
    names = list(dict.fromkeys(name.strip() for name in wanted.split(",") if name.strip()))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise CommandError(f"unknown queue(s): {', '.join(unknown)}; known queues: {', '.join(known)}")
    if not names:
        raise CommandError(f"--queues needs at least one queue name; known queues: {', '.join(known)}")

    base = ["celery", "-A", CELERY_APP]
    commands = {}
    if not beat_only:
        worker = [*base, "worker", f"--loglevel={loglevel.lower()}"]
        if concurrency is not None:
            worker.append(f"--concurrency={concurrency}")
        commands["worker"] = [*worker, "-Q", ",".join(names)]
    if not worker_only:
        commands["beat"] = [*base, "beat", f"--loglevel={loglevel.lower()}", f"--scheduler={BEAT_SCHEDULER}"]
    return commands


def celery_executable() -> list[str]:
    """This virtualenv's `celery` script, else `python -m celery`: the same interpreter either way."""
    script = Path(sys.executable).with_name("celery")  # not resolved: a venv's python is a symlink
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "celery"]


def die_with_parent_on_linux(parent_pid: int):
    """A preexec_fn: SIGTERM the child when this supervisor dies, even by SIGKILL (Linux only).

    Without it a killed supervisor (OOM killer, `kill -9`) would leave the worker consuming and
    beat scheduling, where `make run` could no longer stop them: they are not in its process group.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here, in the parent: nothing to import after fork

    def set_death_signal() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the supervisor died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return set_death_signal


def describe_exit(code: int) -> str:
    """'1', or '-9 (killed by SIGKILL)' for a child a signal ended (Popen's negative return codes)."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"{code} (killed by {signal.Signals(-code).name})"
    return str(code)


def first_exit(children: dict[str, subprocess.Popen], stop_requested: list) -> tuple[str, int] | None:
    """Block until a stop is requested (None) or a child exits on its own (its role and exit code)."""
    while not stop_requested:
        for role, proc in children.items():
            if proc.poll() is not None:
                return role, proc.returncode
        time.sleep(POLL_INTERVAL)  # the signal handler runs during the sleep; the stop is seen next round
    return None


def stop_children(children: dict[str, subprocess.Popen], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM each running child (Celery's warm shutdown), wait up to `timeout`, then SIGKILL."""
    for role, proc in children.items():
        if proc.poll() is None:
            logger.info("Stopping celery %s (pid %s)", role, proc.pid)
            proc.terminate()
    deadline = time.monotonic() + timeout
    for role, proc in children.items():
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("celery %s (pid %s) still running after %ss: killing it", role, proc.pid, timeout)
        # Each child leads its own process group, so this also ends a stuck child and the pool
        # processes a killed worker leaves behind; nothing left in the group is the normal case.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class Command(BaseCommand):
    help = "Run the Celery worker and beat (both by default) as child processes and stop them together."

    def add_arguments(self, parser):
        only = parser.add_mutually_exclusive_group()
        only.add_argument("--worker-only", action="store_true", help="run the worker without beat")
        only.add_argument("--beat-only", action="store_true", help="run beat without a worker")
        parser.add_argument("--concurrency", type=int, help="worker pool processes (default: one per CPU)")
        parser.add_argument("--loglevel", default="info", type=str.lower, choices=LOG_LEVELS)
        parser.add_argument(
            "--queues",
            help=f"comma-separated queues the worker consumes (default: {','.join(settings.TASK_QUEUE_NAMES)})",
        )

    def handle(self, *args, **options):
        commands = build_commands(
            worker_only=options["worker_only"],
            beat_only=options["beat_only"],
            loglevel=options["loglevel"],
            concurrency=options["concurrency"],
            queues=options["queues"],
        )
        stop_requested: list[int] = []  # the handler only records the signal; the loop below acts on it

        def request_stop(signum, frame):
            if not stop_requested:
                logger.info("%s received: stopping Celery gracefully", signal.Signals(signum).name)
            stop_requested.append(signum)

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        children: dict[str, subprocess.Popen] = {}
        try:
            for role, argv in commands.items():
                self.stdout.write(shlex.join(argv))
                self.stdout.flush()  # before the children's output, also when stdout is a file
                # Own process group: a terminal's Ctrl-C (SIGINT to the whole foreground group) reaches
                # only this supervisor, which then stops each child exactly once. In our group, each
                # child would get the SIGINT too and might exit before we saw the stop, which would
                # read as a crash; and our SIGTERM on top would be a second signal to the worker.
                proc = subprocess.Popen(
                    [*celery_executable(), *argv[1:]],
                    process_group=0,
                    preexec_fn=die_with_parent_on_linux(os.getpid()),  # no threads here
                )
                children[role] = proc
                logger.info("Started celery %s (pid %s)", role, proc.pid)
            exited = first_exit(children, stop_requested)
            if exited:
                role, code = exited
                logger.error("celery %s exited on its own with code %s: stopping the others", role, describe_exit(code))
        finally:
            stop_children(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if exited:
            raise CommandError(f"celery {role} exited on its own with code {describe_exit(code)}")
