"""One beat sends: `celery beat` holds a lease in the database while it runs (issue 9, CONVENTIONS §13).

Two beats on the DatabaseScheduler each send every periodic task (measured: a 10 s task arrived 14
times a minute instead of 7). The scheduler class is fixed by the operator's command line, so the lock
hangs on Celery's `beat_init` signal, which `celery beat` (and a worker's embedded `-B` beat) sends
before its first tick (connected in backend/celery.py):

- a beat takes the `BeatLock` row before it sends anything; a second beat waits there as a standby,
  trying again every `standby_poll` seconds, and takes over once the holder releases it (a clean stop)
  or its lease runs out (the holder died: within BEAT_LOCK_SECONDS + standby_poll, 95 s by default);
- the holder renews the lease every BEAT_LOCK_SECONDS / 3 from its own thread, with its own database
  connection; every renewal names its token, so a holder whose row was taken sees 0 rows;
- a holder that lost the row, or could not renew for 2/3 of the lease (the database unreachable or
  hung), exits at once with EXIT_LOST, a third of the lease *before* a standby could take over; a
  supervisor restarts it and it becomes the standby. A watchdog thread enforces the deadline even
  while a renewal hangs, and beat's own publishes check it too (a process paused past its deadline,
  by SIGSTOP or a frozen VM, exits instead of sending on resume);
- a clean stop (SIGTERM, Ctrl-C) releases the row after beat's last schedule sync, so a standby or a
  restarted beat takes over within one poll.

Lease times are the database's clock (`Now()` in SQL), compared by the database: the hosts' wall
clocks never enter, so beats on hosts whose clocks disagree still exclude each other. Each process
measures its own deadline on its monotonic clock from *before* the statement that set the lease, which
errs on the early side. What remains: a jump of the database server's own clock (an NTP step) shortens
or lengthens a lease by that much; the third of the lease kept in reserve absorbs steps smaller than it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing.util
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

logger = logging.getLogger(__name__)

LOCK_NAME = "beat"
# EX_TEMPFAIL: "try again later". A supervisor restarts the beat, which then waits as the standby.
EXIT_LOST = 75
FREE_SINCE = datetime(1970, 1, 1, tzinfo=UTC)  # expires_at of a row nobody has held yet


def lease_seconds() -> float:
    """settings.BEAT_LOCK_SECONDS (from the environment, default 90 s)."""
    value = settings.BEAT_LOCK_SECONDS
    seconds = float(value)
    if seconds <= 0:
        raise ValueError(f"BEAT_LOCK_SECONDS must be positive, got {value!r}")
    return seconds


@dataclass(frozen=True)
class Timing:
    """Everything follows from the lease: renew at a third, give up at two thirds, never after expiry."""

    lease: float

    @property
    def renew_every(self) -> float:
        return self.lease / 3

    @property
    def give_up_after(self) -> float:
        """Seconds after the start of the last successful renewal at which the holder stops sending."""
        return self.lease * 2 / 3

    @property
    def retry_every(self) -> float:
        """Between renewal attempts that failed on a database error."""
        return max(0.1, min(2.0, self.lease / 15))

    @property
    def standby_poll(self) -> float:
        return max(0.2, min(5.0, self.lease / 6))

    @property
    def watchdog_tick(self) -> float:
        return max(0.05, min(0.5, self.lease / 20))


# --- The row: services (writes) and a selector --------------------------------------------------------


def _expires(lease: float):
    from django.db.models import DateTimeField, ExpressionWrapper
    from django.db.models.functions import Now

    return ExpressionWrapper(Now() + timedelta(seconds=lease), output_field=DateTimeField())


def beat_lock_acquire(*, token: str, lease_seconds: float, host: str, pid: int, name: str = LOCK_NAME) -> bool:
    """Take the lock if it is free, expired or already ours; True if `token` holds it now."""
    from django.db.models import Q
    from django.db.models.functions import Now

    from core.models import BeatLock

    BeatLock.objects.get_or_create(name=name, defaults={"expires_at": FREE_SINCE})  # a row to take
    # One guarded statement: two standbys racing for an expired row cannot both match (PostgreSQL
    # re-checks the WHERE on the row the winner wrote; SQLite runs one writer at a time).
    taken = BeatLock.objects.filter(Q(holder="") | Q(expires_at__lte=Now()) | Q(holder=token), name=name).update(
        holder=token,
        host=host[:255],
        pid=pid,
        acquired_at=Now(),
        renewed_at=Now(),
        expires_at=_expires(lease_seconds),
    )
    return taken == 1


def beat_lock_renew(*, token: str, lease_seconds: float, name: str = LOCK_NAME) -> bool:
    """Extend our lease; False if the row is no longer ours (fenced out: someone else holds it)."""
    from django.db.models.functions import Now

    from core.models import BeatLock

    renewed = BeatLock.objects.filter(name=name, holder=token).update(
        renewed_at=Now(), expires_at=_expires(lease_seconds)
    )
    return renewed == 1


def beat_lock_release(*, token: str, name: str = LOCK_NAME) -> bool:
    """Free the lock if `token` holds it, so the next beat takes it at once. Host and pid stay, for the admin."""
    from django.db.models.functions import Now

    from core.models import BeatLock

    return BeatLock.objects.filter(name=name, holder=token).update(holder="", expires_at=Now()) == 1


def beat_lock_holder(*, name: str = LOCK_NAME):
    """The lock's row (held or not), or None before any beat ran."""
    from core.models import BeatLock

    return BeatLock.objects.filter(name=name).first()


# --- A process's hold on the lock ---------------------------------------------------------------------


def exit_now(reason: str) -> None:
    """Stop this beat at once: no finally blocks, no schedule sync, nothing more sent."""
    logger.critical("beat: %s; exiting now (code %s) so that only one beat sends", reason, EXIT_LOST)
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(EXIT_LOST)


class BeatLease:
    """This process's lease: taken by `wait_until_held`, renewed by one thread, enforced by another."""

    def __init__(
        self,
        *,
        timing: Timing,
        name: str = LOCK_NAME,
        token: str | None = None,
        exit: Callable[[str], None] = exit_now,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.timing = timing
        self.name = name
        self.token = token or uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._exit = exit
        self._clock = clock
        self.deadline = float("-inf")  # monotonic: this beat may send until then
        self._stopped = threading.Event()
        self._db = threading.Lock()  # renewal and release never overlap
        self._threads: list[threading.Thread] = []

    # Standby ---------------------------------------------------------------------------------------

    def try_acquire(self) -> bool:
        started = self._clock()
        if beat_lock_acquire(
            token=self.token, lease_seconds=self.timing.lease, host=self.host, pid=self.pid, name=self.name
        ):
            self.deadline = started + self.timing.give_up_after
            return True
        return False

    def wait_until_held(self) -> bool:
        """Block until this process holds the lock (a standby waits here); True if it had to wait."""
        from django.db import DatabaseError, connection

        began = self._clock()
        shown = None  # what the last log line said, so a standby logs changes, not every poll
        for attempt in itertools.count():
            try:
                if self.try_acquire():
                    logger.info(
                        "beat: holding the beat lock %r (lease %ss, renewed every %ss)%s",
                        self.name,
                        self.timing.lease,
                        round(self.timing.renew_every, 2),
                        f" after {self._clock() - began:.1f}s as standby" if attempt else "",
                    )
                    return attempt > 0
                row = beat_lock_holder(name=self.name)
                seen = (row.holder, row.host, row.pid) if row else None
                if seen != shown:
                    shown = seen
                    logger.info(
                        "beat: standby: the beat lock %r is held by %s (pid %s) until %s; this beat sends "
                        "nothing until it is released or expires",
                        self.name,
                        row and row.host,
                        row and row.pid,
                        row and row.expires_at,
                    )
            except DatabaseError as exc:
                # No table yet (beat started before `migrate`), the database restarting: wait, never run unlocked.
                seen = ("error", type(exc).__name__)
                if seen != shown:
                    shown = seen
                    logger.warning(
                        "beat: standby: cannot reach the beat lock (%s: %s); retrying", type(exc).__name__, exc
                    )
                with contextlib.suppress(Exception):
                    connection.close()
            time.sleep(self.timing.standby_poll)

    # Holder ----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Renew in the background, exit when the lease is lost, and release it when beat stops cleanly."""
        for target, suffix in ((self._renew_loop, "renewer"), (self._watchdog_loop, "watchdog")):
            thread = threading.Thread(target=target, name=f"beat-lock-{suffix}", daemon=True)
            thread.start()
            self._threads.append(thread)
        # Run at interpreter exit (`celery beat`) and at the end of a worker's embedded beat process,
        # after DatabaseScheduler's own final sync (exitpriority 5: higher runs first).
        multiprocessing.util.Finalize(None, self.release, exitpriority=1)

    def check(self, **kwargs) -> None:
        """Exit unless the lease is still good: the watchdog's test, also run before each publish."""
        if self._stopped.is_set():
            return
        late = self._clock() - self.deadline
        if late >= 0:
            self._exit(
                f"could not renew the beat lock {self.name!r} for {self.timing.give_up_after:.1f}s "
                f"(a standby may take it over {self.timing.lease - self.timing.give_up_after:.1f}s later)"
            )

    def renew_once(self) -> bool | None:
        """One renewal: True renewed, False lost (the process exits), None a database error (retry)."""
        from django.db import DatabaseError, connection

        with self._db:
            if self._stopped.is_set():
                return True
            started = self._clock()
            try:
                renewed = beat_lock_renew(token=self.token, lease_seconds=self.timing.lease, name=self.name)
            except DatabaseError as exc:
                logger.warning(
                    "beat: cannot renew the beat lock %r (%s: %s); retrying", self.name, type(exc).__name__, exc
                )
                with contextlib.suppress(Exception):
                    connection.close()  # this thread's own connection: the next try opens a fresh one
                return None
            if renewed:
                self.deadline = max(self.deadline, started + self.timing.give_up_after)
                return True
        row = None
        with contextlib.suppress(DatabaseError):
            row = beat_lock_holder(name=self.name)
        holder = f"{row.host} (pid {row.pid})" if row and row.holder else "nobody"
        self._exit(f"lost the beat lock {self.name!r}: it is held by {holder} now")
        return False

    def _renew_loop(self) -> None:
        from django.db import connection

        wait = self.timing.renew_every
        try:
            while not self._stopped.wait(wait):
                outcome = self.renew_once()
                if outcome is False:
                    return
                wait = self.timing.renew_every if outcome else self.timing.retry_every
        finally:
            with contextlib.suppress(Exception):
                connection.close()

    def _watchdog_loop(self) -> None:
        while not self._stopped.wait(self.timing.watchdog_tick):
            self.check()

    def release(self) -> None:
        """Stop renewing and free the row (guarded by our token), unless a renewal hangs on the database."""
        from django.db import DatabaseError

        if self._stopped.is_set():
            return
        self._stopped.set()
        if not self._db.acquire(timeout=5):
            logger.warning("beat: a renewal is still running; the beat lock %r expires on its own", self.name)
            return
        try:
            if beat_lock_release(token=self.token, name=self.name):
                logger.info("beat: released the beat lock %r", self.name)
        except DatabaseError as exc:
            logger.warning("beat: cannot release the beat lock %r (%s); it expires on its own", self.name, exc)
        finally:
            self._db.release()


_held: BeatLease | None = None  # this process's lease, once it holds one


def hold_beat_lock(sender=None, **kwargs) -> None:
    """`beat_init` receiver: return only once this process holds the beat lock, and keep it.

    Celery logs and swallows an Exception raised by a receiver, and beat would then run unlocked:
    anything unexpected here becomes SystemExit instead.
    """
    global _held
    from celery.signals import before_task_publish

    try:
        lease = BeatLease(timing=Timing(lease_seconds()))
        stood_by = lease.wait_until_held()
        lease.start()
    except Exception:
        logger.critical("beat: cannot take the beat lock; exiting rather than run unlocked", exc_info=True)
        raise SystemExit(EXIT_LOST) from None
    _held = lease
    before_task_publish.connect(lease.check, weak=False)
    if stood_by and sender is not None and "scheduler" in vars(sender):
        # The schedule (each task's last run) was read when this beat started, before it stood by;
        # the holder has sent tasks since. Read it afresh, or a task the holder just sent would be
        # due by the stale last run and go out again at once.
        vars(sender).pop("scheduler")
