"""`make flower` (scripts/flower.sh): Flower on the run's broker, behind basic auth, refusing to start without it.

The suite runs these on django:// (runs 1 and 3) and on Redis (run 2), with a real worker: Flower lists
it and shows the events of a task it ran, which on django:// travel over the transport's fanout exchange.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from conftest import ROOT, WorkerProcess, port_open, subprocess_env, wait_until
from core.tests.probe_tasks import record

SCRIPT = ROOT / "scripts" / "flower.sh"
USER, PASSWORD = "ops", "flower-test-password"  # a test value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flower_env(port: int, *, credentials: str, debug: bool) -> dict[str, str]:
    """The test database and broker, DEBUG as given (off: production's rules), Flower's port."""
    return subprocess_env(
        DJANGO_DEBUG="1" if debug else "0",
        DJANGO_SECRET_KEY="flower-test-only",
        FLOWER_BASIC_AUTH=credentials,
        FLOWER_PORT=str(port),
        FLOWER_ADDRESS="127.0.0.1",
        FLOWER_INSPECT_TIMEOUT="5000",  # ms: a reply over django:// can take a couple of polling intervals
    )


class Flower:
    def __init__(self, url: str, log_path, wait_listening):
        self.url, self.log_path, self.wait_listening = url, log_path, wait_listening

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


@pytest.fixture
def start_flower(tmp_path):
    """start_flower(credentials=..., debug=...) -> Flower (its URL and log); it runs until the test ends."""
    started: list[subprocess.Popen] = []

    def start(*, credentials: str, debug: bool = False, wait: bool = True) -> Flower:
        port = free_port()
        log = tmp_path / f"flower-{len(started)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [str(SCRIPT)],
                cwd=ROOT,
                env=flower_env(port, credentials=credentials, debug=debug),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(proc)

        def listening() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"flower exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            return port_open(port)

        flower = Flower(f"http://127.0.0.1:{port}", log, lambda: wait_until(listening, 30, f"flower not on {port}"))
        if wait:
            flower.wait_listening()
        return flower

    yield start
    for proc in started:
        # SIGKILL: Flower keeps nothing here (not --persistent) and takes ~5 s to stop on SIGTERM.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.fixture
def production_worker(tmp_path, transactional_db):
    """A real worker with Celery's heartbeat and gossip on, as `celery worker` runs in production; started,
    not waited for (the test waits for " ready." while Flower starts too).

    conftest's start_worker turns both off to start faster; a worker without them (and without -E) has no
    event dispatcher at all, so nobody, Flower included, can switch its task events on ("event dispatcher
    unavailable"). Flower does switch them on in a worker started the production way, on both brokers.
    """
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "core.tests.worker_app",
        "worker",
        "--loglevel=info",
        "--concurrency=1",
        "-n",
        f"flower-{os.getpid()}@%h",
        "--without-mingle",
    ]
    worker = WorkerProcess("flower", tmp_path / "worker.log", args, subprocess_env(EMAIL_FILE_PATH=str(tmp_path)))
    yield worker
    worker.kill()  # idle by then; a warm shutdown with heartbeat and gossip on takes ~4 s more


def test_flower_refuses_to_start_without_credentials_when_debug_is_off():
    env = flower_env(free_port(), credentials="", debug=False)
    done = subprocess.run([str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "Refusing to start Flower without credentials" in done.stderr and "FLOWER_BASIC_AUTH" in done.stderr
    malformed = subprocess.run(
        [str(SCRIPT)], cwd=ROOT, env={**env, "FLOWER_BASIC_AUTH": "ops"}, capture_output=True, text=True, timeout=30
    )
    assert malformed.returncode == 2 and "must be user:password" in malformed.stderr


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_flower_answers_with_credentials_lists_the_worker_and_shows_a_task(
    start_flower, production_worker, record_file
):
    # Worker and Flower start side by side: Flower first asks the workers for task events 5 s after its start.
    flower = start_flower(credentials=f"{USER}:{PASSWORD}", debug=False, wait=False)
    worker = production_worker
    worker.wait_for_log(" ready.")
    flower.wait_listening()
    url = flower.url
    auth = (USER, PASSWORD)

    assert requests.get(f"{url}/api/workers", timeout=10).status_code == 401
    assert requests.get(f"{url}/workers", timeout=10).status_code == 401
    assert requests.get(f"{url}/api/workers", auth=(USER, "wrong"), timeout=10).status_code == 401

    def worker_listed():
        # Flower's inspect waits about a second for replies: on a loaded machine the first may miss them.
        workers = requests.get(f"{url}/api/workers", params={"refresh": "1"}, auth=auth, timeout=30)
        assert workers.status_code == 200
        return any(name.startswith(f"flower-{os.getpid()}@") for name in workers.json())

    wait_until(worker_listed, 30, "Flower never listed the worker", interval=0.5)

    # Flower asks the workers to send task events (remote control), then a task's events reach it.
    try:
        worker.wait_for_log("Events of group {task} enabled by remote.", timeout=20)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nFlower's log:\n{flower.log}") from None
    result = record.delay(str(record_file), "seen-by-flower")

    def task_seen():
        tasks = requests.get(f"{url}/api/tasks", auth=auth, timeout=10).json()
        return tasks.get(result.id, {}).get("state") == "SUCCESS" and tasks[result.id]

    task = wait_until(task_seen, 20, "Flower did not show the task's events", interval=0.3)
    assert task["name"] == "probe.record" and task["worker"].startswith(f"flower-{os.getpid()}@")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_flower_starts_open_in_debug_without_credentials(start_flower):
    url = start_flower(credentials="", debug=True).url
    started = time.monotonic()
    assert requests.get(f"{url}/healthcheck", timeout=10).text == "OK"
    assert requests.get(f"{url}/workers", timeout=10).status_code == 200
    assert time.monotonic() - started < 10
