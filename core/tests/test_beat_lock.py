"""One beat sends: the lock's row (acquire, expiry, fencing, release), and real `celery beat` processes."""

import json
import re
import signal
import sys
import time
from datetime import UTC, datetime

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from conftest import WorkerProcess, read_runs, subprocess_env, wait_until
from core.beat_lock import (
    EXIT_LOST,
    BeatLease,
    Timing,
    beat_lock_acquire,
    beat_lock_holder,
    beat_lock_release,
    beat_lock_renew,
)
from core.models import BeatLock

A = {"token": "a" * 32, "host": "host-a", "pid": 1}
B = {"token": "b" * 32, "host": "host-b", "pid": 2}


# --- The row -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_beat_takes_the_free_lock_and_a_second_cannot_while_the_lease_lives():
    assert beat_lock_acquire(**A, lease_seconds=60)
    assert not beat_lock_acquire(**B, lease_seconds=60)

    row = beat_lock_holder()
    assert (row.holder, row.host, row.pid) == (A["token"], "host-a", 1)
    assert 55 < (row.expires_at - row.renewed_at).total_seconds() <= 60
    assert BeatLock.objects.count() == 1


@pytest.mark.django_db
def test_a_second_beat_takes_the_lock_once_the_lease_expired():
    assert beat_lock_acquire(**A, lease_seconds=0.3)
    time.sleep(0.5)  # the database's clock decides, not ours

    assert beat_lock_acquire(**B, lease_seconds=60)
    assert beat_lock_holder().holder == B["token"]


@pytest.mark.django_db
def test_a_holder_whose_lease_was_taken_cannot_renew_it():
    assert beat_lock_acquire(**A, lease_seconds=60)
    BeatLock.objects.update(expires_at=datetime(2000, 1, 1, tzinfo=UTC))  # A's lease ran out (A was paused, say)
    assert beat_lock_acquire(**B, lease_seconds=60)

    assert not beat_lock_renew(token=A["token"], lease_seconds=60)  # fenced out
    assert not beat_lock_release(token=A["token"])  # and cannot free B's lock either
    assert beat_lock_renew(token=B["token"], lease_seconds=60)
    assert beat_lock_holder().holder == B["token"]


@pytest.mark.django_db
def test_a_released_lock_is_taken_at_once():
    assert beat_lock_acquire(**A, lease_seconds=60)
    assert beat_lock_release(token=A["token"])

    assert beat_lock_acquire(**B, lease_seconds=60)


# --- The lease in a process (clock and exit stand-ins) -------------------------------------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.django_db
def test_a_holder_that_cannot_renew_stops_a_third_of_the_lease_before_it_expires(monkeypatch):
    clock, exits = Clock(), []
    lease = BeatLease(timing=Timing(90), token=A["token"], exit=exits.append, clock=clock)
    assert lease.try_acquire()

    def unreachable(**kwargs):
        from django.db import OperationalError

        raise OperationalError("connection refused")

    monkeypatch.setattr("core.beat_lock.beat_lock_renew", unreachable)
    clock.now += 30
    assert lease.renew_once() is None  # a database error: retried, not fatal yet
    clock.now += 29.9
    lease.check()
    assert exits == []

    clock.now += 0.1  # 60 s after the last renewal: 30 s before a standby may take over
    lease.check()
    assert len(exits) == 1 and "could not renew the beat lock" in exits[0]


@pytest.mark.django_db
def test_a_holder_whose_row_was_taken_exits_at_its_next_renewal():
    exits = []
    lease = BeatLease(timing=Timing(90), token=A["token"], exit=exits.append)
    assert lease.try_acquire()
    assert lease.renew_once() is True

    BeatLock.objects.update(holder=B["token"], host="host-b", pid=2)  # taken over

    assert lease.renew_once() is False
    assert exits == ["lost the beat lock 'beat': it is held by host-b (pid 2) now"]


# --- Real beat processes -------------------------------------------------------------------------

SENT = re.compile(r"Sending due task probe-beat-lock ")


@pytest.fixture
def probe_every_second(transactional_db, record_file):
    """The only periodic task: probe.record every second, recording into record_file."""
    PeriodicTask.objects.all().delete()
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="probe-beat-lock",
        task="probe.record",
        interval=every_second,
        args=json.dumps([str(record_file), "tick"]),
        queue="default",
        exchange="default",
        routing_key="default",
    )
    return record_file


@pytest.fixture
def start_beat(tmp_path, transactional_db):
    """Start real `celery beat` processes on the DatabaseScheduler, as the production command runs it."""
    started: list[WorkerProcess] = []

    def start(name: str, *, lease: float) -> WorkerProcess:
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "core.tests.worker_app",
            "beat",
            "--loglevel=info",
            "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
        ]
        env = subprocess_env(BEAT_LOCK_SECONDS=str(lease))
        beat = WorkerProcess(name, tmp_path / f"beat-{name}.log", args, env)
        started.append(beat)
        beat.wait_for_log("beat: Starting...")
        return beat

    yield start
    for beat in started:
        beat.stop(timeout=10)


def sends(beat: WorkerProcess) -> int:
    return len(SENT.findall(beat.log))


def runs(record_file) -> int:
    return sum(1 for kind, _token in read_runs(record_file) if kind == "start")


@pytest.mark.worker
def test_a_second_beat_sends_nothing_and_takes_over_after_the_first_is_killed(
    start_beat, start_worker, probe_every_second
):
    lease = Timing(6.0)
    start_worker("w1", queues="default")
    first = start_beat("first", lease=lease.lease)
    first.wait_for_log("beat: holding the beat lock", timeout=15)
    second = start_beat("second", lease=lease.lease)
    second.wait_for_log("beat: standby", timeout=15)

    before = sends(first)
    time.sleep(6)
    assert sends(second) == 0, second.log[-2000:]
    assert 3 <= sends(first) - before <= 8  # one beat's worth, one a second (two beats: about 12)
    sent = sends(first)
    wait_until(lambda: runs(probe_every_second) >= sent, 10, "the worker to run what the first beat sent")
    ran = runs(probe_every_second)
    assert ran <= sends(first)  # every run came from the first beat (it logs each send before it publishes)

    first.kill()  # SIGKILL: no release, the lease must run out
    killed_at, sent_by_first = time.monotonic(), sends(first)

    second.wait_for_log("beat: holding the beat lock", timeout=lease.lease + lease.standby_poll + 5)
    took_over = time.monotonic() - killed_at
    # The first renewed at most lease/3 before it died; the standby polls every standby_poll.
    assert lease.lease * 2 / 3 - 0.5 <= took_over <= lease.lease + lease.standby_poll + 1.5, took_over
    wait_until(lambda: runs(probe_every_second) >= sent_by_first + 2, 10, "the second beat's sends to run")
    assert sends(second) >= 2


@pytest.mark.worker
def test_a_beat_stopped_cleanly_hands_the_lock_over_at_once(start_beat, probe_every_second):
    lease = Timing(12.0)
    first = start_beat("first", lease=lease.lease)
    first.wait_for_log("beat: holding the beat lock", timeout=15)
    second = start_beat("second", lease=lease.lease)
    second.wait_for_log("beat: standby", timeout=15)

    first.signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    assert first.wait_exit(15) == 0
    assert "released the beat lock" in first.log

    second.wait_for_log("beat: holding the beat lock", timeout=lease.standby_poll + 5)
    assert time.monotonic() - stopped_at < lease.renew_every  # long before the lease could have run out
    wait_until(lambda: sends(second) >= 1, 10, "the second beat to send")


@pytest.mark.worker
def test_a_beat_whose_lock_was_taken_exits_without_sending_again(start_beat, probe_every_second):
    lease = Timing(4.0)
    beat = start_beat("only", lease=lease.lease)
    beat.wait_for_log("beat: holding the beat lock", timeout=15)
    wait_until(lambda: sends(beat) >= 1, 10, "the beat to send")

    BeatLock.objects.update(holder=B["token"], host="elsewhere", pid=2)  # another beat holds it now

    assert beat.proc.wait(lease.renew_every + 5) == EXIT_LOST
    assert "lost the beat lock 'beat': it is held by elsewhere (pid 2) now" in beat.log
    last_line = beat.log.strip().splitlines()[-1]
    assert "exiting now" in last_line, beat.log[-2000:]  # nothing sent after it


# --- The admin -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_shows_who_holds_the_lock_read_only(admin_client):
    assert beat_lock_acquire(**A, lease_seconds=60)

    listing = admin_client.get("/admin/core/beatlock/")
    row = BeatLock.objects.get()
    page = admin_client.get(f"/admin/core/beatlock/{row.pk}/change/")

    assert listing.status_code == 200 and b"host-a" in listing.content
    assert page.status_code == 200 and b'name="_save"' not in page.content  # nothing to edit
    assert admin_client.get("/admin/core/beatlock/add/").status_code == 403
