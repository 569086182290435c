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
