"""Private Redis and PostgreSQL instances for fault tests: started, stopped and restarted at will.

Fault tests never touch the shared services (6379, 5432): they stop, kill and restart their own,
on other loopback ports, in temporary folders removed at the end. Everything is started and stopped
by its own pid (Redis) or its own data directory (PostgreSQL's `pg_ctl -D`), never by name.

    redis = PrivateRedis.create()           # port 6390 or the next free one
    redis.start(); redis.url(0); redis.stop(); redis.restart(); redis.flushall()
    pg = PrivatePostgres.create()           # initdb into a temp folder, port 5440 or the next free one
    pg.start(); pg.createdb("a"); pg.clone("a", "b"); pg.url("b"); pg.restart(); pg.dropdb("b"); pg.stop()

Fixtures (session scope; stopped and removed in their teardown, whatever happened): `private_redis`,
`private_postgres`. When a binary or the `postgres` OS user is missing they skip, and under
REQUIRE_SERVICES=1 fail, saying what is missing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

logger = logging.getLogger(__name__)

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
PG_BIN_CANDIDATES = ["/usr/local/bin", *sorted(map(str, Path("/usr/lib/postgresql").glob("*/bin")), reverse=True)]
PG_SUPERUSER = "root"  # the role initdb creates (trust auth on loopback only)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nobody listens on it and a server could bind it.

    SO_REUSEADDR, as Redis and PostgreSQL set it: connections of our own instance's past life, left in
    TIME_WAIT after a stop, must not make its own port look taken when it starts again.
    """
    with socket.socket() as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(preferred: int, tries: int = 30) -> int:
    for port in range(preferred, preferred + tries):
        if port_free(port):
            return port
    raise RuntimeError(f"no free port in {preferred}..{preferred + tries - 1}")


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout}s")
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own child not yet reaped) counts as dead.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def missing(reason: str):
    """Skip, or under REQUIRE_SERVICES=1 fail: the fault suite cannot run here."""
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} and REQUIRE_SERVICES=1")
    pytest.skip(reason)


class PrivateRedis:
    """redis-server on a loopback port, without persistence (a restart comes back empty)."""

    def __init__(self, port: int, workdir: Path):
        self.port = port
        self.workdir = workdir
        self.pidfile = workdir / "redis.pid"
        self.logfile = workdir / "redis.log"
        self.pid: int | None = None

    @classmethod
    def create(cls, preferred_port: int = 6390) -> PrivateRedis:
        if not os.access(REDIS_SERVER, os.X_OK):
            raise FileNotFoundError(REDIS_SERVER)
        return cls(pick_port(preferred_port), Path(tempfile.mkdtemp(prefix="medaid-fault-redis-")))

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def running(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)

    def start(self) -> None:
        if self.running:
            return
        if not port_free(self.port):
            raise RuntimeError(f"port {self.port} was taken by someone else while our Redis was down")
        self.pidfile.unlink(missing_ok=True)
        subprocess.run(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.pidfile),
                "--dir",
                str(self.workdir),
                "--logfile",
                str(self.logfile),
                "--protected-mode",
                "yes",
            ],
            check=True,
            timeout=30,
            capture_output=True,
        )
        wait_for(self.pidfile.exists, 10, f"redis on {self.port} wrote its pid file")
        self.pid = int(self.pidfile.read_text().strip())
        wait_for(self.ping, 10, f"redis on {self.port} answers")
        logger.info("private redis started on %s (pid %s)", self.port, self.pid)

    def ping(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Stop it (SIGTERM: no save, since persistence is off); SIGKILL if it does not go in time."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)
        try:
            wait_for(lambda: not pid_alive(self.pid), timeout, f"redis pid {self.pid} exits")
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            wait_for(lambda: not pid_alive(self.pid), 5, f"redis pid {self.pid} exits after SIGKILL")
        logger.info("private redis on %s stopped (pid %s)", self.port, self.pid)
        self.pid = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def flushall(self) -> None:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)
        try:
            client.flushall()
        finally:
            client.close()

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster: initdb in a temp folder, trust auth on 127.0.0.1 only.

    Run as the `postgres` OS user when we are root (PostgreSQL refuses to run as root), else as
    ourselves. fsync is off: the cluster is thrown away, and a clean or fast shutdown loses nothing.
    """

    def __init__(self, port: int, workdir: Path, bindir: Path):
        self.port = port
        self.workdir = workdir
        self.bindir = bindir
        self.datadir = workdir / "data"
        self.socketdir = workdir / "sock"
        self.logfile = workdir / "postgres.log"
        self.os_user = "postgres" if os.geteuid() == 0 else None

    @classmethod
    def create(cls, preferred_port: int = 5440) -> PrivatePostgres:
        bindir = next(
            (
                Path(d)
                for d in PG_BIN_CANDIDATES
                if os.access(Path(d) / "initdb", os.X_OK) and os.access(Path(d) / "pg_ctl", os.X_OK)
            ),
            None,
        )
        if bindir is None:
            raise FileNotFoundError("initdb/pg_ctl (looked in " + ", ".join(PG_BIN_CANDIDATES) + ")")
        if os.geteuid() == 0:
            pwd.getpwnam("postgres")  # KeyError: no such OS user
        workdir = Path(tempfile.mkdtemp(prefix="medaid-fault-pg-"))
        pg = cls(pick_port(preferred_port), workdir, bindir)
        try:
            pg.socketdir.mkdir()
            if pg.os_user:
                for path in (workdir, pg.socketdir):
                    shutil.chown(path, pg.os_user, pg.os_user)
            pg._run(
                "initdb",
                "-D",
                str(pg.datadir),
                "--auth=trust",
                f"--username={PG_SUPERUSER}",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                timeout=120,
            )
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return pg

    def _run(self, tool: str, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / tool), *args]
        if self.os_user:
            command = ["runuser", "-u", self.os_user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.workdir)
        if check and result.returncode:
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
                f"\n{self.log_tail()}"
            )
        return result

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.datadir), "status", check=False).returncode == 0

    def start(self) -> None:
        if self.running:
            return
        if not port_free(self.port):
            raise RuntimeError(f"port {self.port} was taken by someone else while our PostgreSQL was down")
        options = (
            f"-p {self.port} -k {self.socketdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=100 -c shared_buffers=128MB"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-o",
            options,
            "-l",
            str(self.logfile),
            "-w",
            "-t",
            "60",
            "start",
            timeout=90,
        )
        wait_for(self._answers, 30, f"postgres on {self.port} accepts connections")
        logger.info("private postgres started on %s (%s)", self.port, self.datadir)

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop on our own data directory: 'fast' disconnects every client, as a restart does."""
        if self.datadir.exists() and self.running:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "-t", "60", "stop", timeout=90)
            logger.info("private postgres on %s stopped (%s)", self.port, mode)

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://{PG_SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", **kwargs):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=PG_SUPERUSER,
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
            **kwargs,
        )

    def _answers(self) -> bool:
        try:
            with self.connect() as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:  # not up yet
            return False

    def execute(self, sql: str, params=None, dbname: str = "postgres") -> list[tuple]:
        with self.connect(dbname) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def createdb(self, name: str) -> None:
        self.execute(f'CREATE DATABASE "{name}"')

    def dropdb(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def clone(self, template: str, name: str) -> None:
        """`name` as an exact copy of `template` (a file copy: a second or two for a seeded database)."""
        self.dropdb(name)
        # CREATE DATABASE ... TEMPLATE needs the template without sessions; ours are all finished by now.
        self.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [template])
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def cleanup(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def private_redis():
    """A private Redis (6390 or the next free port) for the whole session; stopped and removed at the end."""
    try:
        redis = PrivateRedis.create()
    except (FileNotFoundError, RuntimeError) as exc:
        missing(f"cannot run a private Redis: {exc}")
    try:
        redis.start()
        yield redis
    finally:
        redis.cleanup()


@pytest.fixture(scope="session")
def private_postgres():
    """A private PostgreSQL cluster (5440 or the next free port) for the whole session; removed at the end."""
    try:
        pg = PrivatePostgres.create()
    except FileNotFoundError as exc:
        missing(f"cannot run a private PostgreSQL: {exc} not found")
    except KeyError:
        missing("cannot run a private PostgreSQL: there is no 'postgres' OS user to run it as")
    try:
        pg.start()
        yield pg
    finally:
        pg.cleanup()
