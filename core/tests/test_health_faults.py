"""Each health component is down while its service is stopped and up again when it returns (issue 11).

The system runs on the fault suite's private Redis and PostgreSQL (core/tests/private_services.py), never
on the shared ones: a real worker, and `manage.py health --json` run as an operator would, in production
settings. Its exit code is the verdict (0 healthy, 1 not). Redis is broker, result backend and cache;
then the same database with `django://`, where PostgreSQL is the broker too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from core.tests.private_deployment import Deployment

pytestmark = pytest.mark.fault

DBNAME = "health_faults"
RECOVERY_BOUND = 60  # seconds a component may take to be up again once its service is back


class System:
    """Looks at a deployment's health: `manage.py health` as an operator runs it, or a probe process that
    runs the same checks on demand (cheaper for polling)."""

    def __init__(self, deployment: Deployment):
        self.deployment = deployment
        self.probe = subprocess.Popen(
            [sys.executable, "-m", "core.tests.health_probe"],
            cwd=ROOT,
            text=True,
            env=deployment.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def close(self) -> None:
        self.probe.stdin.close()
        self.probe.wait(30)

    def command(self) -> tuple[int, set[str]]:
        """`manage.py health --json`: its exit code and the components it reports down."""
        result = subprocess.run(
            [sys.executable, "manage.py", "health", "--json", "--timeout", "1"],
            cwd=ROOT,
            env=self.deployment.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        try:
            body = json.loads(result.stdout)
        except ValueError as exc:
            raise AssertionError(
                f"health printed no JSON (exit {result.returncode}):\n{result.stderr[-3000:]}"
            ) from exc
        return result.returncode, {name for name, c in body["components"].items() if not c["ok"]}

    def down(self) -> set[str]:
        self.probe.stdin.write("check\n")
        self.probe.stdin.flush()
        line = self.probe.stdout.readline()
        assert line, f"the health probe exited ({self.probe.poll()})"
        return {name for name, ok in json.loads(line).items() if not ok}

    def wait_healthy(self, what: str) -> float:
        started = time.monotonic()
        while True:
            self.deployment.supervise()  # a worker that gave up while its broker was away is restarted
            down = self.down()
            if not down:
                return time.monotonic() - started
            if time.monotonic() - started > RECOVERY_BOUND:
                raise AssertionError(
                    f"{what}: still down after {RECOVERY_BOUND} s: {sorted(down)}\n{self.deployment.log_errors()}"
                )
            time.sleep(0.5)


@pytest.fixture(scope="module")
def database(private_postgres, tmp_path_factory):
    """One migrated database for both tests (the fault suite's own template holds 5,000 claims: not needed)."""
    private_postgres.start()  # no-op when running; an earlier fault test may have left it stopped
    private_postgres.dropdb(DBNAME)
    private_postgres.createdb(DBNAME)
    started = time.monotonic()
    Deployment(
        pg=private_postgres,
        dbname=DBNAME,
        redis=None,
        workdir=tmp_path_factory.mktemp("health-migrate"),
        env={"REDIS_URL": ""},
    ).manage("migrate", "--noinput")
    print(f"\nhealth faults: migrated in {time.monotonic() - started:.1f} s")
    yield DBNAME
    private_postgres.dropdb(DBNAME)


def test_each_component_is_down_while_its_service_is_stopped_and_up_when_it_returns(
    private_postgres, private_redis, database, tmp_path
):
    pg, redis = private_postgres, private_redis
    if not redis.running:
        redis.start()
    redis.flushall()
    on_redis = Deployment(pg=pg, dbname=database, redis=redis, workdir=tmp_path / "redis")
    system = System(on_redis)
    timeline = []
    try:
        on_redis.start("worker", concurrency=1)
        timeline.append(f"healthy after start in {system.wait_healthy('start'):.1f} s")
        assert system.command() == (0, set())

        redis.stop()  # broker, results and cache
        assert system.command() == (1, {"cache", "broker", "queues", "workers"})
        redis.start()
        timeline.append(f"Redis back: healthy in {system.wait_healthy('Redis back'):.1f} s")

        pg.stop()  # the database: everything that reads it; the worker still answers through Redis
        down = system.down()
        assert {"database", "dead_letters", "beat", "claims", "bulk_jobs", "notifications"} <= down, down
        assert not {"cache", "broker", "workers", "disk"} & down, down
        pg.start()
        timeline.append(f"PostgreSQL back: healthy in {system.wait_healthy('PostgreSQL back'):.1f} s")

        on_redis.roles["worker"].process.stop()
        assert system.down() == {"workers"}
        on_redis.roles["worker"].process = None  # not for supervise() to restart: started again below
        on_redis.start("worker", concurrency=1)
        timeline.append(f"worker back: healthy in {system.wait_healthy('worker back'):.1f} s")
    finally:
        system.close()
        on_redis.stop_all()
    print("\nhealth faults on Redis: " + "; ".join(timeline))


def test_on_the_database_broker_postgres_stopped_takes_the_broker_and_the_worker_down_and_back(
    private_postgres, database, tmp_path
):
    pg = private_postgres
    on_db = Deployment(pg=pg, dbname=database, redis=None, workdir=tmp_path / "django")
    system = System(on_db)
    try:
        on_db.start("worker", concurrency=1)
        system.wait_healthy("django:// start")
        pg.stop()  # the database, the cache (the database cache) and the broker at once
        assert {"database", "cache", "broker", "workers"} <= system.down()
        pg.start()
        # The worker answers again too: its main process publishes remote-control replies on a Django
        # connection, which django:// reopens after the restart (core/broker/db.py).
        print(f"\nhealth faults on django://: healthy again in {system.wait_healthy('PostgreSQL back'):.1f} s")
    finally:
        system.close()
        on_db.stop_all()
        if not pg.running:
            pg.start()
