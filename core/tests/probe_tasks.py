"""Tasks that record when they run, for tests with real workers (never used by the product)."""

import os
import time

from celery import shared_task


def _append(path: str, line: str) -> None:
    # One write with O_APPEND: lines from several processes never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@shared_task(name="probe.record", ignore_result=True)
def record(path: str, token: str, sleep: float = 0.0) -> None:
    """Append 'start <token>', sleep, append 'done <token>'."""
    _append(path, f"start {token} {os.getpid()}")
    time.sleep(sleep)
    _append(path, f"done {token} {os.getpid()}")


def _delivery(task) -> str:
    info = task.request.delivery_info or {}
    return f"redelivered={bool(info.get('redelivered'))}"


@shared_task(name="probe.reject_once", bind=True, ignore_result=True, acks_late=True)
def reject_once(self, path: str, token: str) -> None:
    """Append 'start <token> <pid> redelivered=<flag>'; reject with requeue unless redelivered, else
    append 'done ...' (Celery's own integration test of reject-with-requeue does the same)."""
    from celery.exceptions import Reject

    _append(path, f"start {token} {os.getpid()} {_delivery(self)}")
    if not (self.request.delivery_info or {}).get("redelivered"):
        raise Reject("first delivery: requeue", requeue=True)
    _append(path, f"done {token} {os.getpid()} {_delivery(self)}")


@shared_task(name="probe.kill_my_worker", bind=True, ignore_result=True, acks_late=True)
def kill_my_worker(self, path: str, token: str) -> None:
    """Append 'start <token> <pid> redelivered=<flag>', then SIGKILL the whole worker (its process
    group): a poison message that takes its worker down on every delivery."""
    import signal

    _append(path, f"start {token} {os.getpid()} {_delivery(self)}")
    os.killpg(os.getpgrp(), signal.SIGKILL)
