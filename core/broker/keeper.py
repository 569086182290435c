"""The lease keeper: one thread per consuming transport that keeps its promises in the database.

- renews the lease of every message the process holds (running, prefetched, waiting for an ETA),
  so a task longer than the lease is never delivered twice;
- marks the queues it consumes as alive, and re-declares them if a sweep removed them while the
  process was stopped;
- flushes batched acks the consumer loop has not carried along within `ack_delay`;
- sweeps expiring queues (pidbox and reply queues) of processes that died without deleting them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import TYPE_CHECKING

from django.db import DatabaseError

if TYPE_CHECKING:
    from .transport import Transport

logger = logging.getLogger(__name__)

TICK = 0.05  # seconds between looks at the ack batch
SWEEP_EVERY = 60.0
MIN_QUEUE_GRACE = 60.0  # an expiring queue survives at least this long without a touch
MAX_RENEW_EVERY = 10.0  # also the touch interval, well inside MIN_QUEUE_GRACE


class LeaseKeeper:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.renew_every = min(max(transport.lease_seconds / 4, 0.2), MAX_RENEW_EVERY)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="django-broker-lease-keeper", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self) -> None:
        next_renew = time.monotonic() + self.renew_every
        next_sweep = time.monotonic() + random.uniform(1, SWEEP_EVERY)  # spread workers' sweeps
        while not self._stop.wait(TICK):
            now = time.monotonic()
            try:
                if self.transport.acks_due():
                    self.transport.flush_acks()
                if now >= next_renew:
                    next_renew = now + self.renew_every
                    self.renew()
                if now >= next_sweep:
                    next_sweep = now + SWEEP_EVERY
                    self.sweep()
            except DatabaseError as exc:
                # The database may be restarting; leases are only lost if this lasts a whole lease.
                logger.warning("django:// lease keeper: %s (retrying)", exc)
            except Exception:
                logger.exception("django:// lease keeper failed (retrying)")

    def renew(self) -> None:
        db = self.transport.db
        channels = list(self.transport.channels)
        held = [lease for channel in channels for lease in channel.held_leases()]
        if held:
            renewed = db.renew(held, time.time() + self.transport.lease_seconds)
            still_held = {lease for channel in channels for lease in channel.held_leases()}
            lost = [row_id for row_id, token in held if row_id not in renewed and (row_id, token) in still_held]
            if lost:
                # Our lease ran out (this thread stalled, or the database was away longer than a
                # lease) and another worker may run these now; our ack will not delete its lease.
                logger.warning("django:// lost the lease of %d message(s): %s", len(lost), lost[:20])
        for channel in channels:
            queues = channel.consumed_queues()
            if queues:
                for queue in db.touch_queues(queues, time.time()):
                    logger.warning("django:// queue %s was swept while this process slept; declaring it again", queue)
                    channel._redeclare(queue)

    def sweep(self) -> None:
        removed = self.transport.db.sweep_stale_queues(time.time(), MIN_QUEUE_GRACE)
        if removed:
            logger.info("django:// removed %d stale queue(s) of dead processes", len(removed))
