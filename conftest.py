"""Shared fixtures: real Celery worker processes on the test database and the configured broker."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from core.tests.private_services import private_postgres, private_redis  # noqa: F401 - fault-suite fixtures

ROOT = Path(__file__).resolve().parent


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a local service listens (to skip, or under REQUIRE_SERVICES=1 fail, tests that need it)."""
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def broker_kind() -> str:
    """'django', 'redis' or 'amqp': what this test run publishes to."""
    return settings.CELERY_BROKER_URL.split("://", 1)[0].split("+", 1)[0].replace("rediss", "redis")


def database_url() -> str:
    """A URL for the database the tests run on (pytest-django's test database), for subprocesses."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess that should see what this test process sees."""
    env = dict(os.environ)
    env.update(
        DJANGO_DEBUG="1",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_RESULT_BACKEND=settings.CELERY_RESULT_BACKEND,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class WorkerProcess:
    """`celery worker` in its own process group, with its log in a file."""

    def __init__(self, name: str, log_path: Path, args: list[str], env: dict[str, str]):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in wait_exit
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"worker {self.name} exited ({self.proc.returncode}):\n{self.log[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"worker {self.name}: {text!r} not in its log after {timeout}s:\n{self.log[-3000:]}")

    def signal(self, sig: int) -> None:
        """Signal the main process, as an operator or a supervisor does."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL to the whole worker: main process and pool children, no chance to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.wait_exit(10)

    def stop(self, timeout: float = 30) -> None:
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)  # warm shutdown
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.wait_exit(10)

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()


@pytest.fixture
def start_worker(tmp_path, transactional_db):
    """Start real workers: start_worker(name, queues=..., concurrency=..., env={...}). All stopped at the end."""
    started: list[WorkerProcess] = []

    def start(
        name: str = "w1",
        *,
        queues: str = ",".join(settings.TASK_QUEUE_NAMES),
        concurrency: int = 1,
        env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> WorkerProcess:
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
            "-n",
            f"{name}-{os.getpid()}@%h",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ]
        log_path = tmp_path / f"worker-{name}-{len(started)}.log"
        # E-mails a worker writes with the file backend stay in this test's folder.
        env = {"EMAIL_FILE_PATH": str(tmp_path / "emails"), **(env or {})}
        worker = WorkerProcess(name, log_path, args, subprocess_env(**env))
        started.append(worker)
        if wait:
            worker.wait_for_log(" ready.")
        return worker

    yield start
    for worker in started:
        worker.stop(timeout=15)


@pytest.fixture
def role_user(db):
    """A user in roles of core 0005 (auth groups): role_user(*roles, token=False, ...) -> user, or (user, token key).

    No role is a user with no permission. The groups are the migrations' own: after a transactional
    test's flush they are gone, and a test that runs then makes them again first (test_api_contract).
    """
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    made = itertools.count(1)

    def make(*roles: str, token: bool = False, staff: bool = False, username: str = "", password: str = "x"):
        groups = list(Group.objects.filter(name__in=roles))
        missing = set(roles) - {group.name for group in groups}
        assert not missing, f"no group {sorted(missing)}: core 0005_roles makes the roles"
        name = username or f"{'-'.join(role.replace(' ', '-') for role in roles) or 'no-role'}-{next(made)}"
        user = User.objects.create_user(name, password=password, is_staff=staff)
        user.groups.set(groups)
        return (user, Token.objects.create(user=user).key) if token else user

    return make


@pytest.fixture
def record_file(tmp_path) -> Path:
    """The file probe tasks append their 'start'/'done' lines to."""
    path = tmp_path / "runs.log"
    path.touch()
    return path


def read_runs(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split()[:2]) for line in path.read_text().splitlines() if line.strip()]


def wait_until(predicate, timeout: float, message: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s: {message}")


@pytest.fixture(scope="session", autouse=True)
def _close_broker_connections(django_db_setup, django_db_blocker):
    """Torn down before the test database is dropped: our own broker connections must not hold it."""
    yield
    from backend.celery import app
    from core.broker.db import close_all

    app.pool.force_close_all()
    close_all()


@pytest.fixture(autouse=True)
def _fresh_reference_cache(request, django_db_blocker):
    """A test never reads reference data an earlier test cached.

    The cache outlives the test database where it is Redis, and where it is the database cache under
    transactional tests (the cache table is not flushed). Inside an ordinary test's transaction the
    cache rows roll back with everything else, and writing there would hold SQLite's write lock for
    the whole test, so nothing is done then.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    uses_db = bool(marker) or "db" in request.fixturenames or transactional
    on_database_cache = settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")
    if uses_db and (transactional or not on_database_cache):
        from core import cache as reference_cache

        with django_db_blocker.unblock():
            for kind in reference_cache.KINDS:
                reference_cache.reference_invalidate(kind)
    yield


@pytest.fixture(scope="session", autouse=True)
def _clean_redis_test_db():
    """Redis keeps messages between runs: empty the run's own Redis database (scripts/test.sh uses /14).

    Database 0 is where a developer's own instance lives, so it is never emptied.
    """
    if settings.REDIS_AVAILABLE:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        if client.connection_pool.connection_kwargs.get("db", 0) != 0:
            client.flushdb()
    yield


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Selenium: Debian's chromium and chromium-driver (.ci/run installs them)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("Chromium is not installed and REQUIRE_SERVICES=1 (apt-get install chromium chromium-driver)")
        pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver)")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not go looking for drivers online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # Without the networking flags Chromium keeps trying to reach Google's hosts from a closed network.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1024",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def admin_browser(browser, live_server, admin_user):
    """The browser, logged in to the admin of a live server (pytest-django's admin: admin / password)."""
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(admin_user.username)
    browser.find_element(By.NAME, "password").send_keys("password")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    assert browser.find_element(By.ID, "user-tools"), "the admin login failed"
    browser.live_url = live_server.url
    return browser
