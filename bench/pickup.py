"""How quickly an idle worker picks up a new message: `python -m bench.pickup [--samples 30]`.

For each broker (django:// on SQLite, django:// on PostgreSQL, Redis), one worker is started and
left idle; then, `--samples` times with a random pause of 0.3-1.2 s (so the consumer is really
idle, and on SQLite backed off to its longest poll), a task is published carrying its publish
time, and the task writes (start time - publish time). Prints median / p90 / max per broker and,
last, one JSON line. Target: median below 0.25 s on every broker.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backend.celery import app  # configures Django and registers django://

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgres://root@127.0.0.1:5432/postgres"


@app.task(name="bench.pickup.stamp", ignore_result=True, queue="bench_pickup")
def stamp(path: str, published_at: float) -> None:
    with open(path, "a") as out:
        out.write(f"{time.time() - published_at}\n")


def _env(database_url: str, broker_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": "django-db",
    }


def _prepare_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'pickup.sqlite3'}"
    else:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS medaid_bench_pickup WITH (FORCE)")
            conn.execute("CREATE DATABASE medaid_bench_pickup")
        url = "postgres://root@127.0.0.1:5432/medaid_bench_pickup"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=_env(url, "django://"), check=True)
    return url


def measure(name: str, database_url: str, broker_url: str, samples: int, workdir: Path) -> list[float]:
    env = _env(database_url, broker_url)
    out = workdir / f"{name}.txt"
    out.write_text("")
    log = open(workdir / f"{name}.log", "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.pickup",
            "worker",
            "-Q",
            "bench_pickup",
            "-c",
            "1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
            "-n",
            f"pickup-{name}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while " ready." not in (workdir / f"{name}.log").read_text():
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError(f"{name}: worker did not start; see {workdir / f'{name}.log'}")
            time.sleep(0.2)
        # Publish from a child process configured for this broker (this process's settings are fixed).
        script = (
            "import random, sys, time\nimport django\ndjango.setup()\n"
            "from bench.pickup import stamp\n"
            f"for _ in range({samples}):\n"
            "    time.sleep(random.uniform(0.3, 1.2))\n"
            f"    stamp.delay({str(out)!r}, time.time())\n"
        )
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=samples * 3 + 60)
        deadline = time.monotonic() + 30
        while len(out.read_text().split()) < samples and time.monotonic() < deadline:
            time.sleep(0.1)
        return [float(x) for x in out.read_text().split()]
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    random.seed(7)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        runs = [
            ("django_sqlite", lambda: _prepare_database("sqlite", workdir), "django://"),
            ("django_pg", lambda: _prepare_database("postgresql", workdir), "django://"),
            ("redis", lambda: f"sqlite:///{workdir / 'redis-side.sqlite3'}", "redis://127.0.0.1:6379/13"),
        ]
        for name, database, broker in runs:
            latencies = sorted(measure(name, database(), broker, args.samples, workdir))
            if not latencies:
                print(f"{name}: no samples")
                continue
            median = statistics.median(latencies)
            p90 = latencies[int(0.9 * (len(latencies) - 1))]
            verdict = "PASS" if median < 0.25 else "MISS"
            print(
                f"{name:14s} median {median * 1000:7.1f} ms  p90 {p90 * 1000:7.1f} ms  "
                f"max {latencies[-1] * 1000:7.1f} ms  n={len(latencies)}  target median < 250 ms: {verdict}"
            )
            figures[f"{name}_median_ms"] = round(median * 1000, 1)
            figures[f"{name}_p90_ms"] = round(p90 * 1000, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
