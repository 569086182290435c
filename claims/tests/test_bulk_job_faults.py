"""Issue 8's fault suite: a 5,000-claim bulk job through real workers survives kills and outages.

Everything runs on private services (core/tests/private_services.py): a Redis on 6390 and a
PostgreSQL cluster on 5440 (or the next free ports), never the shared 6379/5432. The demo data is
seeded once into a template database; each test clones it (CREATE DATABASE ... TEMPLATE), so every
run starts from the very same claims. The reference is the same job decided undisturbed, in one
process without a broker. After each fault the test waits, up to a stated bound, until the job row
is no longer running, no claim is pending and no decision e-mail is queued, then requires:
- every claim and line decided exactly as in the reference (status, reasons, amounts);
- the benefit ledger equal to the decided benefits, one entry per paid line;
- one job row, `completed`, with done = total and nothing failed;
- every decision e-mail received by the real SMTP server exactly once (by the claim number in its
  subject), and its row `sent`.

Settings shortened for the test (every process): BULK_JOB_STALL_SECONDS=10, NOTIFICATION_OVERDUE_SECONDS=20,
and the beat rows sweep_bulk_jobs and requeue_overdue_notifications every 5 s. Chunks of 100 claims,
each slowed by 0.3 s inside its transaction (core/tests/worker_app.py's TEST_CALL_DELAY), so the
undisturbed job lasts ~15 s and a fault lands in the middle of it. One worker (concurrency 2), one beat.
A process that dies (killed, or exiting because a service went away) is restarted by the test acting as
its supervisor, at most every 3 s; a live one is never touched.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from core.tests.private_deployment import Deployment
from core.tests.private_services import PrivatePostgres, PrivateRedis
from notifications.tests.smtp import SmtpServer

pytestmark = pytest.mark.fault

CLAIMS, MEMBERS, SEED = 5000, 1200, 8
FAULT_ENV = {
    "BULK_CHUNK_SIZE": "100",
    "BULK_JOB_STALL_SECONDS": "10",
    "NOTIFICATION_OVERDUE_SECONDS": "20",
    "TEST_CALL_DELAY": "claims.services:adjudicate_claims_in_transaction=0.3",
}
FAST_SCHEDULE_SECONDS = 5
UNDISTURBED_BOUND = 90  # seconds from publishing the job to everything done, nothing disturbed
RECOVERY_BOUND = 120  # seconds from the end of the last fault to everything done
PROGRESS_BOUND = 60  # seconds a stage may wait for the job to move on before the test calls it stuck
SETTLE = 3  # seconds to wait once done, so a late duplicate e-mail would still be seen
SUBJECT_CLAIM = re.compile(r"Your claim (\S+) was")


@dataclass
class World:
    pg: PrivatePostgres
    redis: PrivateRedis
    template: str
    reference: dict
    expected_emails: set[str]


@pytest.fixture(scope="module")
def world(private_postgres, private_redis, tmp_path_factory) -> World:
    """Seed the demo data once (a template database) and decide a copy undisturbed: the reference."""
    started = time.monotonic()
    pg, workdir = private_postgres, tmp_path_factory.mktemp("fault-seed")
    template = "fault_template"
    pg.dropdb(template)
    pg.createdb(template)
    seeding = Deployment(pg=pg, dbname=template, redis=None, workdir=workdir / "template", env=FAULT_ENV)
    seeding.manage("migrate", "--noinput")
    seeding.manage("seed_demo_data", "--members", str(MEMBERS), "--claims", str(CLAIMS), "--seed", str(SEED))
    schedules = seeding.probe("fast-schedules", str(FAST_SCHEDULE_SECONDS))
    print(f"\nfault suite: beat rows every {FAST_SCHEDULE_SECONDS} s: {schedules}")

    pg.clone(template, "fault_reference")
    reference_run = Deployment(
        pg=pg,
        dbname="fault_reference",
        redis=None,
        workdir=workdir / "reference",
        env={**FAULT_ENV, "CELERY_BROKER_URL": "memory://", "CELERY_RESULT_BACKEND": "cache+memory://"},
    )
    summary = reference_run.probe("decide", timeout=600)
    reference = reference_run.probe("snapshot")
    pg.dropdb("fault_reference")
    assert len(reference["claims"]) == CLAIMS and reference["pending"] == 0, summary
    expected = {number for number, statuses in reference["emails"].items() if set(statuses) - {"rejected"}}
    print(
        f"fault suite: seeded and decided the reference in {time.monotonic() - started:.0f} s: {summary}; "
        f"{len(expected)} decision e-mails expected"
    )
    return World(pg, private_redis, template, reference, expected)


class Scenario:
    """One run: a fresh copy of the seeded data, one worker, one beat, a real SMTP server, one job."""

    def __init__(self, world: World, name: str, tmp_path, *, broker: str):
        self.world, self.name = world, name
        self.dbname = f"fault_{name}"
        world.pg.clone(world.template, self.dbname)
        if not world.redis.running:
            world.redis.start()
        world.redis.flushall()  # our own instance: nothing of an earlier test is left in it
        self.smtp = SmtpServer().start()  # stopped by close(), which the fixture calls even on failure
        redis = world.redis if broker == "redis" else None
        self.deployment = Deployment(
            pg=world.pg, dbname=self.dbname, redis=redis, workdir=tmp_path / name, env={**FAULT_ENV, **self.smtp.env}
        )
        self.started = time.monotonic()
        self.timeline: list[str] = []

    def log(self, text: str) -> None:
        line = f"t+{time.monotonic() - self.deployment.started_at:.1f}s {text}"
        self.timeline.append(line)
        print(f"[{self.name}] {line}", flush=True)

    def start(self) -> None:
        self.deployment.start("worker")
        self.deployment.start_beat()
        answer = self.deployment.probe("start-job")
        assert answer["claims"] == CLAIMS, answer
        self.job_published = time.monotonic()
        self.log(f"job of {answer['claims']} claims published")

    # --- looking at the private database directly (cheap, and survives its restarts) ------------

    def state(self) -> dict | None:
        """The newest job's progress and what is left, or None while the database does not answer."""
        try:
            with self.world.pg.connect(self.dbname) as conn:
                job = conn.execute(
                    "SELECT id, status, total, done, failed FROM claims_bulkclaimjob ORDER BY id DESC LIMIT 1"
                ).fetchone()
                pending = conn.execute("SELECT count(*) FROM claims_claim WHERE status = 'pending'").fetchone()[0]
                queued = conn.execute(
                    "SELECT count(*) FROM notifications_notification WHERE template = 'claim_decision' "
                    "AND status = 'queued'"
                ).fetchone()[0]
        except Exception:  # down or restarting: the caller polls again
            return None
        keys = ("job", "status", "total", "done", "failed")
        return {
            **dict(zip(keys, job or (None,) * 5, strict=True)),
            "pending": pending,
            "queued_emails": queued,
            "emails_received": self.smtp.mailbox.count,
        }

    def wait(self, predicate, timeout: float, what: str) -> dict:
        """Poll the state (supervising the processes meanwhile) until predicate(state) holds."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            self.deployment.supervise()
            state = self.state()
            if state is not None:
                last = state
                if predicate(state):
                    return state
            time.sleep(0.2)
        raise AssertionError(
            f"[{self.name}] stuck: {what} not within {timeout:.0f} s; last state {last}\n{self.diagnostics()}"
        )

    def wait_for_progress(self, fraction: float, timeout: float = PROGRESS_BOUND) -> dict:
        state = self.wait(
            lambda s: s["total"] and s["done"] >= fraction * s["total"] or _ended(s),
            timeout,
            f"the job decided {fraction:.0%} of its claims",
        )
        assert not _ended(state), f"[{self.name}] the job ended before the fault could land: {state}"
        return state

    def wait_until_done(self, since: float, bound: float) -> float:
        """Wait until nothing is left to do; the seconds it took from `since` (asserted <= bound)."""

        def done(s: dict) -> bool:
            return (
                _ended(s)
                and s["pending"] == 0
                and s["queued_emails"] == 0
                and (s["emails_received"] >= len(self.world.expected_emails))
            )

        remaining = since + bound - time.monotonic()
        try:
            self.wait(done, remaining, f"everything done within {bound} s")
        except AssertionError as stuck:
            problems = self.problems()
            raise AssertionError(f"{stuck}\nwhat is wrong at the deadline:\n- " + "\n- ".join(problems)) from None
        took = time.monotonic() - since
        self.log(f"everything done {took:.1f} s after the reference point")
        time.sleep(SETTLE)
        return took

    # --- the verdict -------------------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Everything that differs from the undisturbed reference, or from 'exactly once'."""
        ref, world = self.world.reference, self.world
        snap = self.deployment.probe("snapshot")
        found = []
        if snap["pending"]:
            found.append(f"{snap['pending']} claims still pending")
        for key in ("claims", "lines", "ledger"):
            wrong = sorted(k for k in ref[key].keys() | snap[key].keys() if ref[key].get(k) != snap[key].get(k))
            if wrong:
                examples = "; ".join(f"{k}: {snap[key].get(k)} != reference {ref[key].get(k)}" for k in wrong[:3])
                found.append(f"{len(wrong)} {key} differ from the undisturbed run, e.g. {examples}")
        sums = snap["sums"]
        if not sums["ledger"] == sums["line_benefit"] == sums["claim_benefit"]:
            found.append(
                f"ledger total {sums['ledger']} != decided benefits {sums['line_benefit']} "
                f"(claims {sums['claim_benefit']})"
            )
        if sums["ledger_entries"] != sums["lines_with_benefit"] or sums["ledger_lines_twice"]:
            found.append(
                f"ledger entries {sums['ledger_entries']} for {sums['lines_with_benefit']} paid lines, "
                f"{sums['ledger_lines_twice']} lines booked twice"
            )
        jobs = snap["jobs"]
        if len(jobs) != 1:
            found.append(f"{len(jobs)} job rows, expected 1: {[(j['id'], j['status']) for j in jobs]}")
        if jobs:
            job = jobs[-1]
            summary = {
                k: job.get(k)
                for k in ("status", "total", "done", "failed", "chunks_total", "chunks_done", "resumes", "error")
            }
            if (job["status"], job["total"], job["done"], job["failed"]) != ("completed", CLAIMS, CLAIMS, 0):
                found.append(f"job row: {summary}")
        else:
            found.append("no job row")
        rows = snap["emails"]
        not_once = {n: s for n, s in rows.items() if n in world.expected_emails and s != ["sent"]}
        if not_once:
            found.append(
                f"{len(not_once)} decision e-mail rows not exactly one 'sent' row, e.g. {sorted(not_once.items())[:3]}"
            )
        extra_rows = sorted(set(rows) - set(ref["emails"]))
        if extra_rows:
            found.append(f"{len(extra_rows)} claims have decision e-mail rows the reference has not: {extra_rows[:3]}")
        received = Counter()
        for message in self.smtp.mailbox.messages():
            match = SUBJECT_CLAIM.search(str(message["Subject"]))
            received[match.group(1) if match else f"<{message['Subject']}>"] += 1
        twice = {n: c for n, c in received.items() if c > 1}
        never = world.expected_emails - set(received)
        unexpected = set(received) - world.expected_emails
        if twice or never or unexpected:
            found.append(
                f"e-mails: {len(world.expected_emails)} expected, {sum(received.values())} received; "
                f"{len(never)} never (e.g. {sorted(never)[:3]}), {len(twice)} more than once "
                f"(e.g. {sorted(twice.items())[:3]}), {len(unexpected)} unexpected"
            )
        found.append(f"(notification rows by status: {snap['notifications_by_status']})")
        return found if len(found) > 1 else []

    def assert_identical_to_the_reference(self) -> None:
        problems = self.problems()
        assert not problems, f"[{self.name}]\n- " + "\n- ".join(problems) + f"\n{self.diagnostics()}"

    def diagnostics(self) -> str:
        return (
            "timeline:\n  "
            + "\n  ".join(sorted(self.timeline + self.deployment.events(), key=_t))
            + "\nprocess logs (first distinct errors):\n"
            + self.deployment.log_errors()
        )

    def close(self) -> None:
        try:
            self.deployment.stop_all()
        finally:
            self.smtp.stop()
            if not self.world.redis.running:
                self.world.redis.start()
            if not self.world.pg.running:
                self.world.pg.start()
            self.world.pg.dropdb(self.dbname)


def _ended(state: dict) -> bool:
    return state["status"] not in (None, "running")


def _t(line: str) -> float:
    return float(line[2 : line.index("s ")])


@pytest.fixture
def scenario(world, tmp_path):
    made = []

    def make(name: str, *, broker: str = "redis") -> Scenario:
        made.append(Scenario(world, name, tmp_path, broker=broker))
        return made[-1]

    try:
        yield make
    finally:
        for run in made:
            run.close()


def test_undisturbed_job_through_real_workers_matches_the_reference(scenario):
    """Control: nothing disturbed, Redis broker. Everything done within 90 s of publishing the job."""
    run = scenario("undisturbed")
    run.start()
    took = run.wait_until_done(run.job_published, UNDISTURBED_BOUND)
    run.assert_identical_to_the_reference()
    print(f"[undisturbed] done in {took:.1f} s")


def test_three_sigkills_of_the_worker(scenario):
    """(1) The worker (main process and pool) is SIGKILLed three times mid-job; a supervisor restarts it.

    Each kill waits until the restarted worker has moved the job on (by 10% of the claims, within 60 s).
    Everything done within 120 s of the third kill.
    """
    run = scenario("sigkill")
    run.start()
    state = run.wait_for_progress(0.10)
    for kill in range(1, 4):
        run.deployment.kill("worker")
        run.log(f"SIGKILL {kill} at {state['done']}/{state['total']} decided")
        last_kill = time.monotonic()
        if kill < 3:
            time.sleep(1)  # the supervisor restarts it (supervise() runs while we wait)
            floor = state["done"] + CLAIMS // 10
            state = run.wait(
                lambda s, floor=floor: s["done"] >= floor or _ended(s),
                PROGRESS_BOUND,
                f"the job moved on after SIGKILL {kill}",
            )
            assert not _ended(state), f"the job ended before SIGKILL {kill + 1} could land: {state}"
    run.wait_until_done(last_kill, RECOVERY_BOUND)
    run.assert_identical_to_the_reference()


def test_redis_stopped_for_30_seconds(scenario):
    """(2) Redis (the broker, results and cache) stopped for 30 s mid-job; it comes back empty.

    What was queued in it must be recovered from the database. Everything done within 120 s of Redis
    being back.
    """
    run = scenario("redis_down")
    run.start()
    state = run.wait_for_progress(0.20)
    run.world.redis.stop()
    run.log(f"Redis stopped at {state['done']}/{state['total']} decided")
    down_until = time.monotonic() + 30
    while time.monotonic() < down_until:
        run.deployment.supervise()  # anything that exits for want of Redis is restarted
        time.sleep(0.5)
    run.world.redis.start()
    back = time.monotonic()
    run.log("Redis started again, empty")
    run.wait_until_done(back, RECOVERY_BOUND)
    run.assert_identical_to_the_reference()


def _postgres_restarted(run: Scenario) -> None:
    run.start()
    state = run.wait_for_progress(0.20)
    run.world.pg.restart(down_for=2)  # pg_ctl stop -m fast (every connection cut), 2 s down, start
    back = time.monotonic()
    run.log(f"PostgreSQL restarted at {state['done']}/{state['total']} decided")
    run.wait_until_done(back, RECOVERY_BOUND)
    run.assert_identical_to_the_reference()


def test_postgres_restarted(scenario):
    """(3) PostgreSQL restarted mid-job (fast shutdown: every connection cut, down 2 s), Redis broker.

    Everything done within 120 s of PostgreSQL being back.
    """
    _postgres_restarted(scenario("pg_restart"))


def test_postgres_restarted_under_the_database_broker(scenario):
    """(4) The same restart with the `django://` broker, whose messages live in that PostgreSQL.

    Everything done within 120 s of PostgreSQL being back.
    """
    _postgres_restarted(scenario("pg_restart_django", broker="django"))
