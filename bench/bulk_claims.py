"""Bulk claim adjudication end to end: `python -m bench.bulk_claims [--claims 100000]`.

On PostgreSQL + Redis (a throwaway database `medaid_bench_claims`, Redis db 11; BENCH_CLAIMS_DB and
BENCH_CLAIMS_REDIS choose others, so two people can bench at once): seeds the demo
scheme with N pending claims (members with membership history among them: at least a tenth have
several periods, issue 13), starts one worker (concurrency 2), runs
`process_bulk_claims.delay(all ids)` until the job row has ended and reports claims/s end to end and the worker's
peak memory (main process plus pool children, sampled every 0.2 s). In the same run it takes whole
families holding `--naive` claims (default 5,000), keeps what the engine decided for them, resets them to
pending and decides them again with the naive baseline (bench/naive_adjudication.py: same rules, one claim
at a time through the ORM, one save per row, no broker) in as many processes as the worker has pool
processes, families dealt between them; prints the ratio and whether every claim, line and ledger entry
came out as the engine had decided it. The last line is one JSON object.
Targets on the 2-core machine: >= 6,000 claims/s, >= 20x the baseline, worker peak < 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_CLAIMS_DB", "medaid_bench_claims")
REDIS = os.environ.get("BENCH_CLAIMS_REDIS", "redis://127.0.0.1:6379/11")
CONCURRENCY = 2  # the worker's pool processes, and as many processes for the naive baseline


def bench_env(*, db_name: str = DB_NAME, redis: str = REDIS, **extra: str) -> dict[str, str]:
    """A process environment on a PostgreSQL bench database and a Redis database, with production settings."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        # Production settings: with DEBUG on, Django keeps every query in memory and wraps each cursor.
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-not-secret",
        "DATABASE_URL": f"postgres://root@127.0.0.1:5432/{db_name}",
        "REDIS_URL": redis,
        "CELERY_BROKER_URL": redis,
        "CELERY_RESULT_BACKEND": redis,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def python(code: str, *, timeout: float = 3600) -> str:
    """Run `code` with Django set up on the bench database; returns its stdout."""
    prelude = "import django; django.setup()\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=bench_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        raise RuntimeError(f"bench step failed:\n{done.stderr[-3000:]}")
    return done.stdout


def fresh_database(members: int, claims: int) -> float:
    import psycopg

    with psycopg.connect("postgres://root@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=bench_env(), check=True)
    import redis

    redis.Redis.from_url(REDIS).flushdb()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo_data", "--members", str(members), "--claims", str(claims)],
        cwd=ROOT,
        env=bench_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total / 1024


class Worker:
    def __init__(self, workdir: Path):
        self.log_path = workdir / "worker.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backend.celery",
                "worker",
                f"--concurrency={CONCURRENCY}",
                "-Q",
                "default",
                "--loglevel=warning",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-n",
                "bench@%h",
            ],
            cwd=ROOT,
            env=bench_env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.peak_mb = 0.0
        self._sampling = True
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while self._sampling:
            self.peak_mb = max(self.peak_mb, tree_rss_mb(self.proc.pid))
            time.sleep(0.2)

    def wait_ready(self):
        ping = "from backend.celery import app\nimport sys\nsys.exit(0 if app.control.ping(timeout=1) else 1)"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                python(ping, timeout=30)
                self._sampler.start()
                return
            except RuntimeError:
                time.sleep(0.5)
        raise RuntimeError(f"the worker did not answer; see {self.log_path}")

    def stop(self):
        self._sampling = False
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def naive_baseline(claims: int) -> dict:
    """Decide about `claims` claims again with the naive baseline, in CONCURRENCY processes, and compare.

    `baseline_prepare` takes whole families, keeps what the engine decided for them, resets them to
    pending and deals the families to CONCURRENCY processes. The clock runs from the moment every
    process has Django set up and is connected until the last one is done, as the fast path's runs from
    `delay()` with its worker ready. Then the decisions, lines and ledger are compared with the engine's.
    """
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = str(Path(tmp) / "engine.pickle")
        prepared = python(
            "import json\nfrom bench.naive_adjudication import baseline_prepare\n"
            f"print(json.dumps(baseline_prepare(claims={claims}, processes={CONCURRENCY}, snapshot={snapshot!r})))\n"
        )
        groups = json.loads(prepared.strip().splitlines()[-1])
        start = "import django; django.setup()\nfrom bench.naive_adjudication import main; main()"
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", start],
                cwd=ROOT,
                env=bench_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in groups["groups"]
        ]
        try:
            for process, ids in zip(processes, groups["groups"], strict=True):
                process.stdin.write(json.dumps(ids) + "\n")
                process.stdin.flush()
            for process in processes:
                if process.stdout.readline().strip() != "ready":
                    raise RuntimeError("a naive baseline process did not start")
            started = time.perf_counter()
            for process in processes:
                process.stdin.write("go\n")
                process.stdin.flush()
            done = [process.stdout.readline().split() for process in processes]
            elapsed = time.perf_counter() - started
        finally:
            for process in processes:
                process.stdin.close()
                if process.wait(60):
                    raise RuntimeError(f"a naive baseline process failed (exit {process.returncode})")
        if any(len(line) != 3 or line[0] != "done" for line in done):
            raise RuntimeError(f"a naive baseline process did not finish: {done}")
        ids = [claim_id for group in groups["groups"] for claim_id in group]
        same = python(
            "import json\nfrom bench.naive_adjudication import baseline_matches\n"
            f"print(baseline_matches(claim_ids=json.loads({json.dumps(ids)!r}), snapshot={snapshot!r}))\n"
        )
    return {
        "claims": len(ids),
        "families": groups["families"],
        "elapsed_s": elapsed,
        "processes": [(int(line[1]), float(line[2])) for line in done],
        "identical": same.strip().splitlines()[-1] == "True",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=None, help="default: claims / 5")
    parser.add_argument("--naive", type=int, default=5_000, help="claims for the naive baseline")
    args = parser.parse_args()
    members = args.members or max(args.claims // 5, 10)

    seed_s = fresh_database(members, args.claims)
    history = python(
        "from django.db.models import Count\nfrom members.models import Member\n"
        "print(Member.objects.annotate(n=Count('periods')).filter(n__gt=1).count())\n"
    )
    with_history = int(history.strip().splitlines()[-1])
    print(
        f"seeded {members:,} members and {args.claims:,} claims in {seed_s:.1f} s; "
        f"{with_history:,} members ({with_history / members:.0%}) with more than one membership period"
    )
    with tempfile.TemporaryDirectory() as tmp:
        worker = Worker(Path(tmp))
        try:
            worker.wait_ready()
            out = python(
                "import json, time\n"
                "from claims.models import BulkClaimJob, Claim\nfrom claims.services import bulk_job_summary\n"
                "from core.tasks import process_bulk_claims\n"
                "ids = list(Claim.objects.filter(status='pending').values_list('id', flat=True))\n"
                "started = time.perf_counter()\n"
                "process_bulk_claims.delay(ids)\n"
                "# The coordinator returns after BULK_COORDINATOR_SECONDS at most: the job row says when it ended.\n"
                "while not BulkClaimJob.objects.exclude(status='running').exists():\n"
                "    time.sleep(0.05)\n"
                "elapsed = time.perf_counter() - started\n"
                "summary = bulk_job_summary(BulkClaimJob.objects.get())\n"
                "summary['elapsed_s'] = elapsed\n"
                "print(json.dumps(summary))\n"
            )
        finally:
            worker.stop()
    bulk = json.loads(out.strip().splitlines()[-1])
    claims_per_s = bulk["adjudicated"] / bulk["elapsed_s"]
    print(
        f"bulk: {bulk['adjudicated']:,} claims in {bulk['elapsed_s']:.2f} s end to end = {claims_per_s:,.0f}/s "
        f"(approved {bulk['approved']:,}, partially {bulk['partially_approved']:,}, rejected {bulk['rejected']:,}, "
        f"failed {bulk['failed']}); worker peak RSS {worker.peak_mb:.0f} MB"
    )

    naive = naive_baseline(args.naive)
    naive_per_s = naive["claims"] / naive["elapsed_s"]
    speedup = claims_per_s / naive_per_s
    print(
        f"naive baseline: {naive['claims']:,} claims of {naive['families']:,} families in {CONCURRENCY} processes, "
        f"{naive['elapsed_s']:.2f} s = {naive_per_s:,.0f} claims/s (per process: "
        f"{', '.join(f'{n:,} in {t:.1f} s' for n, t in naive['processes'])}); speedup {speedup:.1f}x; "
        f"identical decisions, lines and ledger: {naive['identical']}"
    )
    checks = [
        ("claims/s >= 6,000", claims_per_s >= 6000),
        ("speedup >= 20x", speedup >= 20),
        ("worker peak < 500 MB", worker.peak_mb < 500),
        ("naive baseline decides identically", naive["identical"]),
        ("a tenth of the members with history", with_history >= members / 10),
    ]
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {label}")
    print(
        json.dumps(
            {
                "claims": bulk["adjudicated"],
                "claims_per_s": round(claims_per_s, 1),
                "elapsed_s": round(bulk["elapsed_s"], 2),
                "naive_claims": naive["claims"],
                "naive_claims_per_s": round(naive_per_s, 1),
                "speedup": round(speedup, 1),
                "naive_processes": CONCURRENCY,
                "naive_identical": naive["identical"],
                "worker_peak_rss_mb": round(worker.peak_mb, 1),
                "seed_s": round(seed_s, 1),
                "concurrency": CONCURRENCY,
                "approved": bulk["approved"],
                "partially_approved": bulk["partially_approved"],
                "rejected": bulk["rejected"],
                "members_with_history": with_history,
            }
        )
    )


if __name__ == "__main__":
    main()
