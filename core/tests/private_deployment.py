"""The whole system on private services: its processes (workers, beat, one-off commands) and their supervisor.

The pytest process's own database is pytest-django's, never the private one, so everything here is a
subprocess with an explicit environment: DATABASE_URL on the private PostgreSQL, the broker (private
Redis, or `django://` on that database), SMTP, and production settings (DEBUG off, so a process that
starts while Redis is down cannot quietly fall back to another broker: the URLs are explicit).

    deployment = Deployment(pg=pg, dbname="x", redis=redis, workdir=tmp, env={...})   # or redis=None: django://
    deployment.manage("migrate"); deployment.probe("snapshot")
    deployment.start("worker", concurrency=2); deployment.start_beat()
    deployment.kill("worker")        # SIGKILL to the worker's whole process group
    deployment.supervise()           # restart what has died, like systemd's Restart=always; healthy ones untouched
    deployment.stop_all()
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from conftest import ROOT, WorkerProcess
from core.tests.private_services import PrivatePostgres, PrivateRedis

logger = logging.getLogger(__name__)

QUEUES = "default,cache,reports,monitoring"
BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
RESTART_BACKOFF = 3.0  # seconds between two restarts of one role, as a supervisor's RestartSec
# Variables of the test run that must not leak into the private system's processes.
OWN_PREFIXES = ("DJANGO_", "CELERY_", "TEST_", "DATABASE_", "REDIS_", "EMAIL_", "NOTIFICATION_", "BULK_")


@dataclass
class Role:
    """One supervised process: how to start it, the live process, and what happened to it."""

    name: str
    args: list[str]
    ready_text: str
    process: WorkerProcess | None = None
    starts: int = 0
    last_start: float = 0.0
    events: list[str] = field(default_factory=list)


class Deployment:
    def __init__(
        self,
        *,
        pg: PrivatePostgres,
        dbname: str,
        redis: PrivateRedis | None,
        workdir: Path,
        env: dict[str, str] | None = None,
    ):
        self.pg, self.dbname, self.redis, self.workdir = pg, dbname, redis, workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.extra_env = dict(env or {})
        self.roles: dict[str, Role] = {}
        self.secret = secrets.token_urlsafe(32)
        self.started_at = time.monotonic()

    # --- environment and one-off commands ------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(OWN_PREFIXES)}
        env.update(
            DJANGO_SETTINGS_MODULE="backend.settings",
            DJANGO_DEBUG="0",  # production: explicit broker, no fallback
            DJANGO_SECRET_KEY=self.secret,
            DATABASE_URL=self.pg.url(self.dbname),
            DATA_DIR=str(self.workdir / "data"),
            EMAIL_FILE_PATH=str(self.workdir / "emails"),
            PYTHONUNBUFFERED="1",
            LOG_LEVEL="INFO",
        )
        if self.redis is not None:
            url = self.redis.url(0)
            env.update(REDIS_URL=url, CELERY_BROKER_URL=url, CELERY_RESULT_BACKEND=url)
        else:
            env.update(REDIS_URL="", CELERY_BROKER_URL="django://", CELERY_RESULT_BACKEND="django-db")
        env.update(self.extra_env)
        env.update(extra)
        return env

    def run(self, args: list[str], *, timeout: float = 300, **env: str) -> str:
        """Run a command to its end; its stdout, or an AssertionError with all it said."""
        result = subprocess.run(args, cwd=ROOT, env=self.env(**env), capture_output=True, text=True, timeout=timeout)
        if result.returncode:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
            )
        return result.stdout

    def manage(self, *args: str, timeout: float = 600, **env: str) -> str:
        return self.run([sys.executable, "manage.py", *args], timeout=timeout, **env)

    def probe(self, *args: str, timeout: float = 180, **env: str) -> dict:
        """`python -m claims.tests.fault_probe ...` in the private system; its JSON answer."""
        out = self.run([sys.executable, "-m", "claims.tests.fault_probe", *args], timeout=timeout, **env)
        return json.loads(out.strip().splitlines()[-1])

    # --- long-running processes ----------------------------------------------------------------

    def start(self, name: str = "worker", *, concurrency: int = 2, queues: str = QUEUES, wait: bool = True) -> Role:
        """A real `celery worker` (the test app: ours plus test hooks), supervised under `name`."""
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "core.tests.worker_app",
            "worker",
            "--loglevel=info",
            f"--concurrency={concurrency}",
            "-Q",
            queues,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ]
        return self._start(Role(name, args, " ready."), wait=wait)

    def start_beat(self, name: str = "beat", *, wait: bool = True) -> Role:
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "core.tests.worker_app",
            "beat",
            "--loglevel=info",
            f"--scheduler={BEAT_SCHEDULER}",
            "--pidfile=",
        ]
        return self._start(Role(name, args, "beat: Starting..."), wait=wait)

    def _start(self, role: Role, *, wait: bool) -> Role:
        self.roles[role.name] = role
        self._launch(role, wait=wait)
        return role

    def _launch(self, role: Role, *, wait: bool) -> None:
        role.starts += 1
        role.last_start = time.monotonic()
        args = list(role.args)
        if "worker" in args:  # a fresh node name per start, as a restarted unit gets a new pid
            args += ["-n", f"{role.name}-{role.starts}-{os.getpid()}@%h"]
        role.process = WorkerProcess(role.name, self.workdir / f"{role.name}.log", args, self.env())
        if wait:
            role.process.wait_for_log(role.ready_text, timeout=90)

    def kill(self, name: str) -> None:
        """SIGKILL to the whole process group (main process and pool): no chance to clean up."""
        role = self.roles[name]
        role.process.kill()
        self.note(role, f"SIGKILLed by the test (exit {role.process.proc.returncode})")

    def supervise(self) -> list[str]:
        """Start again a role whose process has exited (a crash, a kill), at most every RESTART_BACKOFF seconds.

        This is what a real supervisor does (systemd Restart=always). A running process is never touched.
        """
        restarted = []
        for role in self.roles.values():
            if role.process is None or role.process.proc.poll() is None:
                continue
            if time.monotonic() - role.last_start < RESTART_BACKOFF:
                continue
            code = role.process.proc.returncode
            role.process.wait_exit(1)
            self._launch(role, wait=False)
            self.note(role, f"exited ({code}): restarted by the supervisor (start #{role.starts})")
            restarted.append(role.name)
        return restarted

    def note(self, role: Role, text: str) -> None:
        line = f"t+{time.monotonic() - self.started_at:.1f}s {role.name}: {text}"
        role.events.append(line)
        logger.warning(line)
        print(line, flush=True)

    def stop_all(self) -> None:
        for role in self.roles.values():
            if role.process is not None:
                role.process.stop(timeout=15)

    # --- what happened ------------------------------------------------------------------------

    def events(self) -> list[str]:
        return sorted((line for role in self.roles.values() for line in role.events), key=_event_time)

    def log_errors(self, limit: int = 25) -> str:
        """The first distinct ERROR/CRITICAL lines and exception lines of every process's log."""
        out = []
        for role in self.roles.values():
            if role.process is None:
                continue
            seen, lines = set(), []
            for line in role.process.log_path.read_text(errors="replace").splitlines():
                if re.search(r"ERROR|CRITICAL|Error:|Exception:|exited|Traceback", line):
                    key = re.sub(r"\d+", "N", line[line.find("]") + 1 :])[:160]
                    if key not in seen:
                        seen.add(key)
                        lines.append(line[:400])
            out.append(f"--- {role.name} ({role.starts} start(s)): {len(lines)} distinct error lines")
            out.extend(lines[:limit])
        return "\n".join(out)


def _event_time(line: str) -> float:
    return float(line[2 : line.index("s ")])
