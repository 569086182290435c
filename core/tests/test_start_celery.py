"""`start_celery` builds the operator's celery command lines and supervises them; `ensure_admin` is idempotent."""

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import suppress
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from core.management.commands import start_celery
from core.management.commands.start_celery import build_commands, celery_executable

ROOT = Path(__file__).resolve().parents[2]
ALL_QUEUES = "default,cache,reports,monitoring"
WORKER = ["celery", "-A", "backend.celery", "worker", "--loglevel=info", "-Q", ALL_QUEUES]
BEAT = [
    "celery",
    "-A",
    "backend.celery",
    "beat",
    "--loglevel=info",
    "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
]


# --- The command lines ---------------------------------------------------------------------------


def test_it_builds_the_worker_and_beat_by_default():
    assert build_commands() == {"worker": WORKER, "beat": BEAT}


def test_it_builds_only_the_worker_with_worker_only():
    assert build_commands(worker_only=True) == {"worker": WORKER}


def test_it_builds_only_beat_with_beat_only():
    assert build_commands(beat_only=True) == {"beat": BEAT}


def test_it_passes_concurrency_loglevel_and_queues_to_the_worker():
    commands = build_commands(concurrency=4, loglevel="DEBUG", queues=" cache, reports,cache")
    assert commands["worker"] == [
        "celery",
        "-A",
        "backend.celery",
        "worker",
        "--loglevel=debug",
        "--concurrency=4",
        "-Q",
        "cache,reports",
    ]
    assert commands["beat"][4] == "--loglevel=debug"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"worker_only": True, "beat_only": True}, "mutually exclusive"),
        ({"concurrency": 0}, "positive integer"),
        ({"concurrency": -2}, "positive integer"),
        ({"queues": "cache,bogus"}, "unknown queue(s): bogus"),
        ({"queues": " , "}, "at least one queue"),
        ({"beat_only": True, "concurrency": 2}, "worker options"),
        ({"loglevel": "loud"}, "--loglevel"),
    ],
)
def test_it_rejects_bad_options(options, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        build_commands(**options)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--worker-only", "--beat-only"], "not allowed with"),
        (["--concurrency=abc"], "invalid int value"),
        (["--concurrency=0"], "positive integer"),
        (["--queues=nope"], "unknown queue"),
        (["--loglevel=loud"], "invalid choice"),
    ],
)
def test_the_command_rejects_bad_flags_before_starting_anything(argv, message, monkeypatch):
    monkeypatch.setattr(subprocess, "Popen", None)  # would fail loudly if anything were started
    with pytest.raises(CommandError, match=message):
        call_command("start_celery", *argv)


def test_it_runs_the_celery_script_next_to_the_interpreter():
    assert celery_executable() == [str(Path(sys.executable).with_name("celery"))]


def test_it_falls_back_to_python_dash_m_celery(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no celery script beside it
    assert celery_executable() == [str(tmp_path / "python"), "-m", "celery"]


def test_it_prints_the_lines_and_fails_when_a_child_exits_on_its_own(monkeypatch):
    # Stand-ins that start in milliseconds: the "worker" exits with 3, the "beat" would run for a minute.
    fake = "import sys, time; sys.exit(3) if 'worker' in sys.argv else time.sleep(60)"
    monkeypatch.setattr(start_celery, "celery_executable", lambda: [sys.executable, "-c", fake])
    out = StringIO()
    started = time.monotonic()
    with pytest.raises(CommandError, match="celery worker exited on its own with code 3"):
        call_command("start_celery", stdout=out)
    assert out.getvalue().splitlines() == [" ".join(WORKER), " ".join(BEAT)]
    assert time.monotonic() - started < 10  # the sleeping "beat" was stopped, not waited for


# --- Real processes ------------------------------------------------------------------------------


def session_processes(sid: int) -> list[tuple[int, int, str]]:
    """Live (not zombie) processes in session `sid`, as (pid, parent pid, command line)."""
    found = []
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            state, ppid, _pgrp, session = stat_path.read_text().rpartition(")")[2].split()[:4]
            if int(session) == sid and state != "Z":
                cmdline = (stat_path.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append((int(stat_path.parent.name), int(ppid), cmdline))
    return found


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


class StartCelery:
    """`manage.py start_celery ...` as a terminal runs it: its own session and process group."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in cleanup
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "start_celery", *args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        try:
            wait_until(lambda: text in self.log or self.proc.poll() is not None, timeout, repr(text))
        finally:
            assert text in self.log, f"{text!r} not in the log (exit code {self.proc.poll()}):\n{self.log[-3000:]}"

    def exit_code(self, timeout: float = 45) -> int:
        return self.proc.wait(timeout)

    def leftovers(self) -> list[tuple[int, int, str]]:
        """Processes still running in its session, after giving orphans a moment to be reaped."""
        with suppress(AssertionError):
            wait_until(lambda: not session_processes(self.proc.pid), 5, "the session to empty")
        return session_processes(self.proc.pid)

    def cleanup(self) -> None:
        # The children lead their own process groups, so killing our group is not enough.
        for pid, _ppid, _cmd in session_processes(self.proc.pid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        self._log.close()


@pytest.fixture(scope="module")
def embedded_env(tmp_path_factory) -> dict[str, str]:
    """Environment for the embedded mode on a fresh, migrated SQLite file (never data/db.sqlite3)."""
    data_dir = tmp_path_factory.mktemp("start_celery")
    env = dict(os.environ)
    env.update(
        DJANGO_DEBUG="1",
        REDIS_URL="",
        CELERY_BROKER_URL="",
        CELERY_RESULT_BACKEND="",
        DATA_DIR=str(data_dir),
        DATABASE_URL=f"sqlite:///{data_dir / 'db.sqlite3'}",
        PYTHONUNBUFFERED="1",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    return env


@pytest.fixture
def run_start_celery(embedded_env, tmp_path):
    started: list[StartCelery] = []

    def run(*args: str) -> StartCelery:
        started.append(StartCelery(list(args), embedded_env, tmp_path / f"start_celery-{len(started)}.log"))
        return started[-1]

    yield run
    for supervisor in started:
        supervisor.cleanup()


def ctrl_c_in_a_terminal(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGINT)  # a terminal sends SIGINT to the whole foreground process group


def sigterm(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)


@pytest.mark.worker
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.parametrize("stop", [ctrl_c_in_a_terminal, sigterm], ids=["ctrl-c", "sigterm"])
def test_it_stops_the_worker_gracefully_and_exits_0(run_start_celery, stop):
    supervisor = run_start_celery("--worker-only", "--concurrency=1")
    supervisor.wait_for_log(" ready.")

    stop(supervisor.proc)

    assert supervisor.exit_code() == 0, supervisor.log[-3000:]
    assert "Warm shutdown" in supervisor.log
    assert "Traceback" not in supervisor.log
    assert supervisor.leftovers() == []


@pytest.mark.worker
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_it_stops_beat_and_fails_when_the_worker_is_killed(run_start_celery):
    supervisor = run_start_celery("--concurrency=1")
    supervisor.wait_for_log(" ready.")
    supervisor.wait_for_log("beat: Starting")
    children = [(pid, cmd) for pid, ppid, cmd in session_processes(supervisor.proc.pid) if ppid == supervisor.proc.pid]
    assert sorted(" worker " in cmd for _pid, cmd in children) == [False, True], children
    worker_pid = next(pid for pid, cmd in children if " worker " in cmd)

    os.kill(worker_pid, signal.SIGKILL)

    assert supervisor.exit_code() != 0
    assert "celery worker exited on its own with code -9 (killed by SIGKILL)" in supervisor.log
    assert "Stopping celery beat" in supervisor.log
    assert supervisor.leftovers() == []  # beat, and the killed worker's pool process


@pytest.mark.worker
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_its_children_stop_when_it_is_killed_itself(run_start_celery):
    supervisor = run_start_celery("--concurrency=1")
    supervisor.wait_for_log(" ready.")

    supervisor.proc.kill()  # SIGKILL: no chance to stop anything itself

    assert supervisor.exit_code() == -signal.SIGKILL
    assert supervisor.leftovers() == []  # the kernel sent each child SIGTERM: warm shutdown


# --- ensure_admin ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ensure_admin_creates_the_superuser_once(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "boss")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "boss@example.org")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "first-Password-9")
    call_command("ensure_admin", stdout=StringIO())

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "second-Password-9")
    out = StringIO()
    call_command("ensure_admin", stdout=out)

    assert "already exists" in out.getvalue()
    user = get_user_model().objects.get()
    assert (user.username, user.email, user.is_superuser, user.is_staff) == (
        "boss",
        "boss@example.org",
        True,
        True,
    )
    assert user.check_password("first-Password-9")


@pytest.mark.django_db
def test_ensure_admin_prints_a_generated_password_when_none_is_set(monkeypatch):
    for name in ("DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_EMAIL", "DJANGO_SUPERUSER_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    out = StringIO()
    call_command("ensure_admin", stdout=out)

    password = out.getvalue().split("with password: ", 1)[1].split()[0]
    user = get_user_model().objects.get(username="admin")
    assert user.email == "admin@localhost"
    assert user.check_password(password)
