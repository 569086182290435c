"""The Celery app of `bench.broker`: the project's app plus one no-op task on the queue `bench`.

The worker runs `celery -A bench._app worker -Q bench ...`. Importing `backend.celery` registers the
`django://` transport and configures Django from the environment `bench.broker` sets per run (the
broker URL, the database). Results are disabled, so only the broker is measured.

The task records its completion as one fixed-width line, `"%.6f\\n" % time.time()`, appended with
O_APPEND to the file named by BENCH_DONE_FILE: it touches neither the ORM nor the broker under test.
"""

import os
import time

from backend.celery import app

BENCH_QUEUE = "bench"

# No result backend (not even a disabled one that the task would have to skip): the broker alone.
app.conf.update(result_backend=None, task_ignore_result=True, worker_hijack_root_logger=False)
if os.environ.get("CELERY_BROKER_URL", "").startswith("sqla+"):
    # kombu's SQLAlchemy transport passes every transport option to create_engine(), which rejects the
    # project's `visibility_timeout` (a feature that transport does not have anyway).
    app.conf.broker_transport_options = {}

_done: tuple[int, int] | None = None  # (pid, fd): each prefork child opens the file once


def _done_fd() -> int:
    global _done
    pid = os.getpid()
    if _done is None or _done[0] != pid:
        fd = os.open(os.environ["BENCH_DONE_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        _done = (pid, fd)
    return _done[1]


@app.task(name="bench.noop", ignore_result=True, queue=BENCH_QUEUE)
def noop(i: int = 0) -> None:
    """Does nothing but note the time it ran (one atomic append per task)."""
    os.write(_done_fd(), b"%.6f\n" % time.time())
