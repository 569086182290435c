"""Broker throughput: publish, then drain N no-op tasks through one worker, on each broker.

    python -m bench.broker [--tasks 20000] [--brokers redis,django_pg,django_sqlite,sqla_pg]
                           [--multipliers 4,1]

Brokers: Redis, `django://` on PostgreSQL, `django://` on SQLite, and kombu's own SQLAlchemy
transport on PostgreSQL (the peer). Every run gets a fresh store (Redis FLUSHDB on its own db
number, a dropped and re-created PostgreSQL database, a new SQLite file) and the same worker:
prefork, concurrency 2, no heartbeat/gossip/mingle, queue `bench`, results disabled, the project's
`task_acks_late`, the prefetch multiplier under test. During the `django://`-on-PostgreSQL runs a
transaction stays open in another connection to the same database, so no dead row can be removed.

Per run: publish N tasks with no worker running (publish rate), start the worker, and measure the
drain from the first task's completion to the last one's (each task appends a timestamp line to a
file); also the rate over the first and the last 10 % of completions. See bench/README.md.
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BROKERS = ("redis", "django_pg", "django_sqlite", "sqla_pg")
LABELS = {
    "redis": "Redis",
    "django_pg": "django:// PostgreSQL",
    "django_sqlite": "django:// SQLite",
    "sqla_pg": "kombu SQLAlchemy PostgreSQL",
}
LINE_BYTES = 18  # one completion line written by bench._app.noop: b"1712345678.123456\n"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_PROCESSES = {"redis": {"redis-server"}, "django_pg": {"postgres"}, "sqla_pg": {"postgres"}}

# (name, JSON key, minimum) - the figures DESIGN.md asks of the django:// transport.
TARGETS = (
    ("django:// PG >= 1.0x Redis (m4)", "django_pg_vs_redis", 1.0),
    ("django:// PG >= 3x SQLAlchemy PG (m4)", "django_pg_vs_sqla", 3.0),
    ("django:// SQLite >= 0.5x Redis (m4)", "django_sqlite_vs_redis", 0.5),
    ("django:// PG >= 0.75x Redis (m1)", "django_pg_vs_redis_m1", 0.75),
    ("django:// PG last/first 10% >= 0.8, txn held open (m4)", "django_pg_last_vs_first", 0.8),
)


@dataclass
class Run:
    broker: str
    multiplier: int
    ok: bool = False
    error: str = ""
    publish_per_s: float | None = None
    drain_per_s: float | None = None
    first10_per_s: float | None = None
    last10_per_s: float | None = None
    last_vs_first: float | None = None
    drain_s: float | None = None
    startup_s: float | None = None  # worker spawn -> first task completed
    completed: int = 0
    duplicates: int = 0
    rows_left: int | None = None  # django:// only: broker_message rows after the worker stopped
    dead_rows: int | None = None  # django:// PG only: n_dead_tup of broker_message at the end
    cpu: dict = field(default_factory=dict)  # CPU-seconds per wall-second during the drain
    load_before: float | None = None
    stopped: str = ""
    commits_per_task: float | None = None  # PostgreSQL brokers: transactions committed per task drained


class BenchError(Exception):
    pass


# --- helpers ------------------------------------------------------------------------------------


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _cpu_snapshot(pgid: int, server_names: set[str]) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the worker's process group (main / pool) and of the broker server."""
    snap: dict[str, dict[int, float]] = {"main": {}, "pool": {}, "server": {}}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        comm = data[data.index("(") + 1 : data.rindex(")")]
        rest = data[data.rindex(")") + 2 :].split()
        pid, pgrp = int(entry.name), int(rest[2])
        seconds = (int(rest[11]) + int(rest[12])) / CLK_TCK
        if pid == pgid:
            snap["main"][pid] = seconds
        elif pgrp == pgid:
            snap["pool"][pid] = seconds
        elif comm in server_names:
            snap["server"][pid] = seconds
    return snap


def _cpu_share(before: dict, after: dict, wall: float) -> dict[str, float]:
    """CPU-seconds per wall-second of each group between two snapshots (1.0 = one core busy)."""
    share = {}
    for group in ("main", "pool", "server"):
        used = sum(after[group][pid] - before[group].get(pid, 0.0) for pid in after[group])
        share[group] = round(used / wall, 2) if wall > 0 else 0.0
    return share


def _rate(count: int, seconds: float) -> float | None:
    return count / seconds if seconds > 0 else None


def _stats(stamps: list[float]) -> dict:
    """Drain figures from completion timestamps: first to last, first and last 10 % of them."""
    stamps.sort()
    n = len(stamps)
    k = max(2, n // 10)
    first10 = _rate(k - 1, stamps[k - 1] - stamps[0])
    last10 = _rate(k - 1, stamps[-1] - stamps[-k])
    return {
        "drain_s": stamps[-1] - stamps[0],
        "drain_per_s": _rate(n - 1, stamps[-1] - stamps[0]),
        "first10_per_s": first10,
        "last10_per_s": last10,
        "last_vs_first": last10 / first10 if first10 and last10 else None,
    }


# --- the stores ---------------------------------------------------------------------------------


class Stores:
    def __init__(self, args, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.pg_base = args.pg_url.rstrip("/")
        self.pg_url = f"{self.pg_base}/{args.pg_db}"

    def _admin(self):
        import psycopg

        return psycopg.connect(f"{self.pg_base}/postgres", autocommit=True)

    def fresh_pg(self) -> None:
        from psycopg import sql

        with self._admin() as conn:
            name = sql.Identifier(self.args.pg_db)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))

    def drop_pg(self) -> None:
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.args.pg_db)))

    def flush_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(self.args.redis_url)
        try:
            client.flushdb()
        finally:
            client.close()

    def hold_transaction(self):
        """A transaction with an xid, idle in the bench database until closed: no dead row is removable.

        Same database on purpose: since PostgreSQL 14 a transaction in another database of the cluster
        only holds back the horizon of the shared catalogs, not of this database's tables.
        """
        import psycopg

        conn = psycopg.connect(self.pg_url)
        conn.execute("SELECT txid_current()")  # psycopg opened the transaction (BEGIN) implicitly
        return conn

    def pg_commits(self) -> int:
        """Transactions committed in the bench database so far (backends report at most every 1 s)."""
        import psycopg

        with psycopg.connect(f"{self.pg_base}/postgres", autocommit=True) as conn:
            row = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [self.args.pg_db])
            return row.fetchone()[0]

    def pg_counts(self) -> tuple[int, int]:
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            left = conn.execute("SELECT count(*) FROM broker_message").fetchone()[0]
            dead = conn.execute(
                "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'broker_message'"
            ).fetchone()
        return left, (dead[0] if dead else None)

    @staticmethod
    def sqlite_rows_left(path: Path) -> int:
        import sqlite3

        conn = sqlite3.connect(path)
        try:
            return conn.execute("SELECT count(*) FROM broker_message").fetchone()[0]
        finally:
            conn.close()


# --- one run ------------------------------------------------------------------------------------


def run_env(args, broker: str, multiplier: int, run_dir: Path, stores: Stores) -> dict[str, str]:
    env = dict(os.environ)
    unused_db = f"sqlite:///{run_dir / 'unused.sqlite3'}"  # the no-op task never opens it
    env.update(
        # Production settings (DEBUG off: no query log on every broker statement) unless --debug.
        DJANGO_DEBUG="1" if args.debug else "0",
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="backend.settings",
        DATA_DIR=str(run_dir),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        CELERY_WORKER_PREFETCH_MULTIPLIER=str(multiplier),
        CELERY_RESULT_BACKEND="",  # bench._app disables results whatever this says
        BENCH_DONE_FILE=str(run_dir / "done.txt"),
        REDIS_URL="",  # no probe, no Redis cache: only the broker under test is in play
    )
    if broker == "redis":
        env.update(CELERY_BROKER_URL=args.redis_url, DATABASE_URL=unused_db)
    elif broker == "django_pg":
        env.update(CELERY_BROKER_URL="django://", DATABASE_URL=stores.pg_url)
    elif broker == "django_sqlite":
        env.update(CELERY_BROKER_URL="django://", DATABASE_URL=f"sqlite:///{run_dir / 'bench.sqlite3'}")
    elif broker == "sqla_pg":
        sqla = stores.pg_url.replace("postgresql://", "sqla+postgresql+psycopg://", 1)
        sqla = sqla.replace("postgres://", "sqla+postgresql+psycopg://", 1)
        env.update(CELERY_BROKER_URL=sqla, DATABASE_URL=unused_db)
    return env


def _subprocess(cmd: list[str], env: dict, timeout: float, what: str) -> str:
    try:
        proc = subprocess.run(cmd, check=False, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{what} did not finish within {timeout:.0f}s") from exc
    if proc.returncode != 0:
        raise BenchError(f"{what} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def _stop(proc: subprocess.Popen, grace: float = 15.0) -> str:
    """Warm shutdown (SIGTERM), then SIGKILL to the worker's whole process group (its pool)."""
    how = "had exited"
    if proc.poll() is None:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
            how = f"SIGTERM, {time.monotonic() - started:.1f}s"
        except subprocess.TimeoutExpired:
            how = f"SIGKILL after {grace:.0f}s of warm shutdown"
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # its own session (start_new_session): only our worker
    proc.wait(timeout=10)
    return how


def run_once(args, broker: str, multiplier: int, tmp: Path, stores: Stores) -> Run:
    run = Run(broker, multiplier)
    run_dir = tmp / f"{broker}-m{multiplier}"
    run_dir.mkdir()
    env = run_env(args, broker, multiplier, run_dir, stores)
    done = Path(env["BENCH_DONE_FILE"])
    n = args.tasks
    limit = max(120.0, n / 50)
    holder = worker = None
    log = run_dir / "worker.log"
    try:
        # A fresh store.
        if broker == "redis":
            stores.flush_redis()
        elif broker in ("django_pg", "sqla_pg"):
            stores.fresh_pg()
        if broker.startswith("django_"):
            _subprocess([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env, 300, "migrate")
        if broker == "django_pg":
            holder = stores.hold_transaction()

        run.load_before = os.getloadavg()[0]
        out = _subprocess([sys.executable, "-m", "bench._publish", str(n)], env, limit, "publishing")
        published = json.loads(out.strip().splitlines()[-1])
        run.publish_per_s = _rate(published["timed"], published["seconds"])

        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench._app",
            "worker",
            "--pool=prefork",
            f"--concurrency={args.concurrency}",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            "bench",
            "--loglevel=warning",
            "-n",
            f"bench-{broker}-m{multiplier}@%h",
        ]
        started = time.monotonic()
        with open(log, "wb") as log_file:
            worker = subprocess.Popen(
                cmd, env=env, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = SERVER_PROCESSES.get(broker, set())
        deadline = started + limit
        cpu_first = first_at = commits_first = None
        while True:
            size = done.stat().st_size if done.exists() else 0
            now = time.monotonic()
            if size and cpu_first is None:
                cpu_first, first_at = _cpu_snapshot(worker.pid, server), now
                run.startup_s = now - started
                commits_first = stores.pg_commits() if broker.endswith("_pg") else None
            if size >= n * LINE_BYTES:
                cpu_last = _cpu_snapshot(worker.pid, server)
                run.cpu = _cpu_share(cpu_first, cpu_last, now - first_at)
                break
            if worker.poll() is not None:
                raise BenchError(f"the worker exited (code {worker.returncode}) after {size // LINE_BYTES}/{n} tasks")
            if now > deadline:
                raise BenchError(f"not drained within {limit:.0f}s: {size // LINE_BYTES}/{n} tasks done")
            time.sleep(0.02 if cpu_first is None else 0.2)
        run.stopped = _stop(worker)
        if commits_first is not None:  # after the stop: its backends have reported everything
            run.commits_per_task = (stores.pg_commits() - commits_first) / n
        stamps = [float(line) for line in done.read_bytes().split()]
        run.completed = min(len(stamps), n)
        run.duplicates = max(0, len(stamps) - n)  # an at-least-once broker may deliver twice
        for key, value in _stats(stamps).items():
            setattr(run, key, value)
        if broker == "django_pg":
            run.rows_left, run.dead_rows = stores.pg_counts()
        elif broker == "django_sqlite":
            run.rows_left = stores.sqlite_rows_left(run_dir / "bench.sqlite3")
        run.ok = True
    except BenchError as exc:
        run.error = str(exc)
        if done.exists() and done.stat().st_size >= 20 * LINE_BYTES:  # figures of what did complete
            partial = _stats([float(line) for line in done.read_bytes().split()])
            run.error += (
                f" (so far: drain {_fmt(partial['drain_per_s'])}/s, first 10% {_fmt(partial['first10_per_s'])}/s,"
                f" last 10% {_fmt(partial['last10_per_s'])}/s)"
            )
    except Exception as exc:  # a store that is down, say: report it, go on with the next broker
        run.error = f"{type(exc).__name__}: {exc}"
    finally:
        if worker is not None and not run.stopped:
            run.stopped = _stop(worker)
        if commits_first is not None:  # after the stop: its backends have reported everything
            run.commits_per_task = (stores.pg_commits() - commits_first) / n
            if not run.ok:
                run.error += f"\n  worker log ({log}):\n" + _tail(log)
        if holder is not None:
            holder.close()  # rolls back
    return run


# --- reporting ----------------------------------------------------------------------------------


def _fmt(value, spec=",.0f", unit="") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def _suffix(multiplier: int) -> str:
    return "" if multiplier == 4 else f"_m{multiplier}"


def print_run(run: Run) -> None:
    head = f"{LABELS[run.broker]:<28} m{run.multiplier}"
    if not run.ok:
        print(f"{head}  FAILED: {run.error}", flush=True)
        return
    extra = f"{run.completed} done, {run.duplicates} duplicate(s)"
    if run.rows_left is not None:
        extra += f", {run.rows_left} row(s) left"
    if run.dead_rows is not None:
        extra += f", {run.dead_rows} dead row(s) (txn held open)"
    if run.commits_per_task is not None:
        extra += f", ~{run.commits_per_task:.2f} PG commits/task"
    cpu = run.cpu
    print(
        f"{head}  publish {_fmt(run.publish_per_s):>7}/s  drain {_fmt(run.drain_per_s):>6}/s "
        f"(first 10% {_fmt(run.first10_per_s)}/s, last 10% {_fmt(run.last10_per_s)}/s, "
        f"last/first {_fmt(run.last_vs_first, '.2f')})  {run.drain_s:.1f}s, worker up->first task "
        f"{run.startup_s:.1f}s; CPU cores busy: worker main {cpu.get('main')}, pool {cpu.get('pool')}, "
        f"server {cpu.get('server', '-')}; {extra}; worker stopped: {run.stopped}; load before {run.load_before:.2f}",
        flush=True,
    )


def summarise(args, runs: list[Run]) -> dict:
    result: dict = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "tasks": args.tasks,
        "concurrency": args.concurrency,
    }
    by = {(r.broker, r.multiplier): r for r in runs}
    for run in runs:
        sfx = _suffix(run.multiplier)
        for name in ("publish_per_s", "drain_per_s", "first10_per_s", "last10_per_s", "last_vs_first"):
            value = getattr(run, name)
            result[f"{run.broker}_{name}{sfx}"] = None if value is None else round(value, 2)
        if run.dead_rows is not None:
            result[f"{run.broker}_dead_rows{sfx}"] = run.dead_rows
        if run.commits_per_task is not None:
            result[f"{run.broker}_commits_per_task{sfx}"] = round(run.commits_per_task, 3)
        if run.duplicates:
            result[f"{run.broker}_duplicates{sfx}"] = run.duplicates
        if not run.ok:
            result.setdefault("errors", {})[f"{run.broker}{sfx}"] = run.error.splitlines()[0]
    for multiplier in args.multipliers:
        sfx = _suffix(multiplier)
        for base, tag in (("redis", "redis"), ("sqla_pg", "sqla")):
            ref = by.get((base, multiplier))
            for broker in BROKERS:
                run = by.get((broker, multiplier))
                if broker == base or run is None or ref is None or (base == "sqla_pg" and broker != "django_pg"):
                    continue
                for name, key in (
                    ("drain_per_s", ""),
                    ("publish_per_s", "_publish"),
                    ("first10_per_s", "_first10"),
                    ("last10_per_s", "_last10"),
                ):
                    mine, theirs = getattr(run, name), getattr(ref, name)
                    ratio = round(mine / theirs, 3) if mine and theirs else None
                    result[f"{broker}{key}_vs_{tag}{sfx}"] = ratio
    result["targets"] = {}
    for _name, key, minimum in TARGETS:
        value = result.get(key)
        result["targets"][key] = "n/a" if value is None else ("PASS" if value >= minimum else "MISS")
    return result


def print_summary(args, runs: list[Run], result: dict) -> None:
    by = {(r.broker, r.multiplier): r for r in runs}
    for multiplier in args.multipliers:
        print(f"\nprefetch multiplier {multiplier}, {args.tasks} tasks, concurrency {args.concurrency}")
        print(
            f"  {'broker':<28} {'publish/s':>9} {'drain/s':>8} {'first10%':>9} {'last10%':>8} {'last/first':>10}"
            f" {'drain vs Redis':>14} {'publish vs Redis':>16}"
        )
        for broker in args.brokers:
            run = by.get((broker, multiplier))
            if run is None:
                continue
            if not run.ok:
                print(f"  {LABELS[broker]:<28} FAILED ({run.error.splitlines()[0]})")
                continue
            sfx = _suffix(multiplier)
            vs, pub = result.get(f"{broker}_vs_redis{sfx}"), result.get(f"{broker}_publish_vs_redis{sfx}")
            if broker == "redis" and run.ok:
                vs = pub = 1.0
            print(
                f"  {LABELS[broker]:<28} {_fmt(run.publish_per_s):>9} {_fmt(run.drain_per_s):>8} "
                f"{_fmt(run.first10_per_s):>9} {_fmt(run.last10_per_s):>8} {_fmt(run.last_vs_first, '.2f'):>10} "
                f"{_fmt(vs, '.2f', 'x'):>14} {_fmt(pub, '.2f', 'x'):>16}"
            )
    print("\ntargets")
    for name, key, _minimum in TARGETS:
        value = result.get(key)
        print(f"  {result['targets'][key]:<4}  {name:<56} {key} = {_fmt(value, '.2f')}")


# --- main ---------------------------------------------------------------------------------------


def _csv(kind, choices=None):
    def parse(text: str):
        values = [kind(part.strip()) for part in text.split(",") if part.strip()]
        bad = [v for v in values if choices is not None and v not in choices]
        if not values or bad:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(choices or ['numbers'])}")
        return values

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.broker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks per run (default 20000)")
    parser.add_argument(
        "--brokers",
        type=_csv(str, BROKERS),
        default=list(BROKERS),
        help=f"comma-separated subset of {','.join(BROKERS)}",
    )
    parser.add_argument("--multipliers", type=_csv(int), default=[4, 1], help="prefetch multipliers (default 4,1)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes (default 2)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15", help="FLUSHDB'd before its runs")
    parser.add_argument("--pg-url", default="postgresql://root@127.0.0.1:5432", help="cluster URL, no database")
    parser.add_argument("--pg-db", default="medaid_bench", help="throwaway database, dropped and re-created per run")
    parser.add_argument("--debug", action="store_true", help="run publisher and worker with DJANGO_DEBUG=1")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (worker logs, completion files)")
    args = parser.parse_args(argv)
    if args.tasks < 20:
        parser.error("--tasks must be at least 20")

    tmp = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    stores = Stores(args, tmp)
    runs: list[Run] = []
    print(
        f"bench.broker: {args.tasks} no-op tasks per run, brokers {','.join(args.brokers)}, prefetch multipliers "
        f"{','.join(map(str, args.multipliers))}, {os.cpu_count()} cores; temp dir {tmp}",
        flush=True,
    )
    try:
        for multiplier in args.multipliers:
            for broker in args.brokers:
                run = run_once(args, broker, multiplier, tmp, stores)
                runs.append(run)
                print_run(run)
    finally:
        if any(b in ("django_pg", "sqla_pg") for b in args.brokers):
            try:
                stores.drop_pg()
            except Exception as exc:  # reported; the figures still print
                print(f"could not drop database {args.pg_db}: {exc}", file=sys.stderr)
        failed = any(not r.ok for r in runs)
        if args.keep or failed:
            print(f"temp dir kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    result = summarise(args, runs)
    print_summary(args, runs, result)
    print(json.dumps(result))
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
