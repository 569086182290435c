"""The django:// kombu transport: messages in database rows, leased rather than taken.

- A delivery sets the row's `visible_at` to now + lease; ack deletes the row; reject-with-requeue and
  a clean shutdown set it back to 0. A worker killed with SIGKILL simply stops renewing: its rows
  become visible again when the lease runs out, so nothing is lost.
- Whoever leases, fences: each reservation writes a fresh lease token, and renew, ack and release
  act only on rows that still carry the holder's token (a holder whose lease ran out touches nothing).
- A message delivered again carries `delivery_info['redelivered'] = True` and its `delivery_count`;
  one delivered more than `max_deliveries` times goes to the dead-letter table instead.
- While the worker lives, `LeaseKeeper` renews the leases of every message it holds (running tasks,
  prefetched ones, ETA tasks waiting in the worker), so nothing is delivered twice because it was slow.
- Reservation is one statement: `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`
  on PostgreSQL, `UPDATE ... RETURNING` under SQLite's single write lock. It takes up to the free
  prefetch slots at once; acks are batched into the next reservation's round trip.
- Bindings are shared rows, so fanout (remote control, `inspect ping`) and pidbox replies work
  across processes; queues with an expiry are swept when nobody has touched them for a while.
- An idle consumer sleeps on PostgreSQL LISTEN/NOTIFY (every publish notifies), or on SQLite polls
  with a backoff from 10 ms to 200 ms; an ack that frees a prefetch slot wakes it at once.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import select
import time
from collections import deque
from queue import Empty
from urllib.parse import urlsplit

from django.db import DatabaseError, InterfaceError, OperationalError
from kombu.transport import virtual
from kombu.transport.base import to_rabbitmq_queue_arguments

from . import db as sql
from .keeper import LeaseKeeper

logger = logging.getLogger(__name__)

MAX_PRIORITY = 9
RESCAN_EVERY = 2.0  # seconds a scan may resume from where it last found work before starting at the head


def _max_deliveries_setting() -> int:
    from django.conf import settings

    return int(getattr(settings, "CELERY_BROKER_MAX_DELIVERIES", 10))


def _task_of(payload: str) -> tuple[str | None, str | None]:
    """(task name, task id) of a Celery message, for logs and the admin; (None, None) otherwise."""
    try:
        headers = json.loads(payload).get("headers") or {}
        return headers.get("task"), headers.get("id")
    except (ValueError, AttributeError):
        return None, None


def _worker_is_stopping() -> bool:
    from celery.worker import state

    return state.should_stop is not None or state.should_terminate is not None


def database_alias(url: str | None, option: str | None = None) -> str:
    """The Django database alias a `django://[alias]` URL (or the `database_alias` option) names.

    An alias missing from settings.DATABASES is a ValueError (as kombu's Redis transport refuses a bad
    database number in its URL), raised when kombu builds the transport, before any connection attempt:
    retrying cannot fix a typo. kombu's default hostname (`localhost`, no scheme) names nothing.
    """
    from django.db import connections

    named = urlsplit(url).netloc if url and "://" in url else ""
    if named and option and named != option:
        raise ValueError(f"django://{named} names database {named!r} but transport option database_alias is {option!r}")
    alias = named or option or "default"
    if alias not in connections.settings:
        known = ", ".join(sorted(connections.settings))
        raise ValueError(f"django://{alias}: no database {alias!r} in settings.DATABASES (known: {known})")
    return alias


class QoS(virtual.QoS):
    """Prefetch accounting of kombu's virtual QoS; settlement goes to the database."""

    def ack(self, delivery_tag):
        self.channel._settle(delivery_tag, requeue=False)
        super().ack(delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        # Not super(): the virtual QoS requeues by publishing a copy; we release the lease instead,
        # so the message keeps its place (and id) in the queue.
        self.channel._settle(delivery_tag, requeue=requeue)
        self._quick_ack(delivery_tag)

    def restore_unacked(self):
        """Give back every unacked message (shutdown, connection loss)."""
        self._flush()
        tags = list(self._delivered)
        self._delivered.clear()
        try:
            self.channel._release(tags)
        except DatabaseError as exc:
            # Nothing is lost: the leases run out and the messages are delivered again.
            logger.warning("Could not release %d leases (%s); they will expire instead", len(tags), exc)
        return []


class Channel(virtual.Channel):
    QoS = QoS
    supports_fanout = True
    do_restore = True
    max_priority = MAX_PRIORITY

    def __init__(self, connection, **kwargs):
        super().__init__(connection, **kwargs)
        self._held: dict[str, tuple[int, int, str]] = {}  # delivery tag -> (row id, token, queue), unsettled
        self._no_ack_queues: set[str] = set()
        self._auto_delete_queues: set[str] = set()
        self._queue_expires: dict[str, float | None] = {}
        self._scan: dict[str, tuple[int, int, float]] = {}  # queue -> (rank, id, scan started)
        self._tables: dict[str, tuple[float, list]] = {}  # exchange -> (fetched at, bindings)
        self._next_queue = 0
        self._found_nothing = False

    @property
    def transport(self) -> Transport:
        return self.connection

    @property
    def db(self) -> sql.PrivateDatabase:
        return self.transport.db

    # --- publishing ------------------------------------------------------------------------------

    def _rank(self, message) -> int:
        return MAX_PRIORITY - self._get_message_priority(message)

    def _put(self, queue, message, **kwargs):
        sql.publish(self.transport.alias, queue, self._rank(message), json.dumps(message))

    def _put_fanout(self, exchange, message, routing_key, **kwargs):
        sql.publish_fanout(self.transport.alias, exchange, self._rank(message), json.dumps(message))

    def get_table(self, exchange):
        cached = self._tables.get(exchange)
        if cached and time.monotonic() - cached[0] < self.transport.binding_cache_seconds:
            return cached[1]
        table = self.db.bindings(exchange)
        self._tables[exchange] = (time.monotonic(), table)
        return table

    def _lookup(self, exchange, routing_key, default=None):
        queues = super()._lookup(exchange, routing_key, default)
        if not queues and exchange:
            self._tables.pop(exchange, None)  # a binding made since we cached the table?
            queues = super()._lookup(exchange, routing_key, default)
        return queues

    # --- declarations ----------------------------------------------------------------------------

    def prepare_queue_arguments(self, arguments, **kwargs):
        # Queue(expires=...) reaches _new_queue as x-expires only through this (the virtual base drops it).
        return to_rabbitmq_queue_arguments(arguments, **kwargs)

    def _new_queue(self, queue, auto_delete=False, arguments=None, **kwargs):
        expires_ms = (arguments or {}).get("x-expires")
        self._queue_expires[queue] = expires_ms / 1000.0 if expires_ms else None
        self.db.declare_queue(queue, self._queue_expires[queue], time.time())
        if auto_delete:
            self._auto_delete_queues.add(queue)

    def _has_queue(self, queue, **kwargs):
        return self.db.has_queue(queue)

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        self.db.bind(exchange, queue, routing_key, pattern)
        self._tables.pop(exchange, None)

    def queue_unbind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        super().queue_unbind(queue, exchange, routing_key, arguments, **kwargs)
        self.db.unbind(exchange, queue, routing_key)
        self._tables.pop(exchange, None)

    def queue_delete(self, queue, if_unused=False, if_empty=False, **kwargs):
        if if_empty and self._size(queue):
            return
        self.db.delete_queue(queue)
        self.state.queue_bindings_delete(queue)
        self._auto_delete_queues.discard(queue)
        self._tables.clear()

    def _size(self, queue):
        return self.db.size(queue)

    def _purge(self, queue):
        return self.db.purge(queue, time.time())

    def _redeclare(self, queue):
        """Declare `queue` and its bindings again (it was swept while this process was stopped)."""
        self.db.declare_queue(queue, self._queue_expires.get(queue), time.time())
        for exchange, routing_key, arguments in list(self.state.queue_bindings(queue)):
            rk, pattern, _ = self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments)
            self.db.bind(exchange, queue, rk, pattern)

    # --- consuming -------------------------------------------------------------------------------

    def basic_consume(self, queue, no_ack, *args, **kwargs):
        if no_ack:
            self._no_ack_queues.add(queue)
        result = super().basic_consume(queue, no_ack, *args, **kwargs)
        self.transport.keeper.ensure_running()
        return result

    def basic_cancel(self, consumer_tag):
        queue = self._tag_to_queue.get(consumer_tag)
        super().basic_cancel(consumer_tag)
        if queue is not None and queue not in self._active_queues:
            self._no_ack_queues.discard(queue)
            self._scan.pop(queue, None)
            if queue in self._auto_delete_queues:
                self.queue_delete(queue)

    def basic_get(self, queue, no_ack=False, **kwargs):
        while True:
            leased = self._lease(queue, 1, take=no_ack)
            rows = self._deliverable(leased, queue, no_ack)
            if rows or not leased:
                break  # else that one went to the dead-letter table: look for the next
        if not rows:
            return None
        payload = self._accept(rows[0], queue, no_ack)
        message = self.Message(payload, channel=self)
        if not no_ack:
            self.qos.append(message, message.delivery_tag)
        return message

    def drain_events(self, timeout=None, callback=None):
        """Reserve and deliver up to the free prefetch slots from the next queue that has work."""
        if not self._consumers:
            raise Empty()
        room = self.qos.can_consume_max_estimate()
        if room is not None and room <= 0:
            raise Empty()
        limit = min(room or self.transport.batch_size, self.transport.batch_size)
        callback = callback or self.transport._deliver
        queues = list(self._active_queues)
        if self._found_nothing and self.db.vendor == "sqlite" and not self.transport._acks:
            # Idle: look before taking SQLite's single write lock, which every idle poll would otherwise take.
            now = time.time()
            if not any(self.db.has_ready(queue, now) for queue in queues):
                raise Empty()
        for offset in range(len(queues)):
            queue = queues[(self._next_queue + offset) % len(queues)]
            no_ack = queue in self._no_ack_queues
            rows = self._lease(queue, limit, take=no_ack)
            if rows:
                self._found_nothing = False
                self._next_queue = (self._next_queue + offset + 1) % len(queues)  # fair between queues
                for row in self._deliverable(rows, queue, no_ack):
                    callback(self._accept(row, queue, no_ack), queue)
                return
        self._found_nothing = True
        raise Empty()

    def _deliverable(self, rows, queue, no_ack):
        """The rows to deliver; a leased row delivered more than `max_deliveries` times goes to the
        dead-letter table instead (it kept killing or failing its worker)."""
        limit = self.transport.max_deliveries
        if no_ack or not limit or all(row[3] <= limit for row in rows):
            return rows
        deliver = []
        for row in rows:
            if row[3] <= limit:
                deliver.append(row)
                continue
            row_id, _, payload, deliveries, token = row
            try:
                moved = self.db.dead_letter((row_id, token), time.time())
            except DatabaseError as exc:  # the lease runs out and the next delivery tries again
                logger.warning("django:// could not dead-letter message %s of queue %s: %s", row_id, queue, exc)
                continue
            if moved:
                task, task_id = _task_of(payload)
                logger.error(
                    "django:// message %s of queue %s (task %s, id %s) was delivered %d times, more than "
                    "CELERY_BROKER_MAX_DELIVERIES (%d): moved to the dead-letter table (admin: Dead letters)",
                    row_id,
                    queue,
                    task,
                    task_id,
                    deliveries - 1,
                    limit,
                )
        return deliver

    def _accept(self, row, queue, no_ack):
        row_id, _, payload, deliveries, token = row
        message = json.loads(payload)
        properties = message["properties"]
        if not no_ack:
            self._held[properties["delivery_tag"]] = (row_id, token, queue)
        info = properties.get("delivery_info")
        if isinstance(info, dict):
            info["delivery_count"] = deliveries
            if deliveries > 1:
                info["redelivered"] = True
        if deliveries > 1 and isinstance(message.get("headers"), dict):
            message["headers"]["redelivered"] = True  # as kombu's Redis transport marks a restored message
        return message

    def _lease(self, queue, limit, *, take):
        """One reservation statement, resuming where the last scan of this queue found work.

        While deleted rows cannot be vacuumed (any long transaction in the cluster), a scan from the
        head of the index walks every dead entry; resuming past the last delivered (rank, id) avoids
        that, and a periodic scan from the head picks up released messages and new higher priorities.
        """
        now = time.time()
        scan = self._scan.get(queue)
        if scan is not None and now - scan[2] > RESCAN_EVERY:
            scan = None
        ack_ids = self.transport.take_pending_acks()
        token = sql.new_token()  # fresh for every delivery (CONVENTIONS.md §13)
        try:
            rows = self._reserve(queue, limit, now, scan, take, ack_ids, token)
            if not rows and scan is not None:
                scan = None
                rows = self._reserve(queue, limit, now, None, take, (), token)
        except OperationalError as exc:
            self.transport.return_pending_acks(ack_ids)
            if sql.is_busy(exc):
                return []  # SQLite: another writer has the lock; the next poll tries again
            raise
        except Exception:
            self.transport.return_pending_acks(ack_ids)
            raise
        if rows:
            last = rows[-1]
            self._scan[queue] = (last[1], last[0], scan[2] if scan else now)
        else:
            self._scan.pop(queue, None)
        return [(*row, token) for row in rows]  # (id, rank, payload, deliveries, token)

    def _reserve(self, queue, limit, now, scan, take, acks, token):
        return self.db.lease(
            queue,
            limit=limit,
            now=now,
            until=now + self.transport.lease_seconds,
            after=scan[:2] if scan else None,
            take=take,
            token=token,
            acks=acks,
        )

    # --- settlement ------------------------------------------------------------------------------

    def _settle(self, delivery_tag, *, requeue):
        held = self._held.pop(delivery_tag, None)
        if held is None:
            return
        if requeue:
            self._release_rows([held])  # a reject: the delivery counts (redelivered, dead-letter limit)
        else:
            self.transport.ack_later((held[0], held[1]))
        self.transport.wake()  # a prefetch slot is free

    def _release(self, delivery_tags):
        """Give back what this channel holds unsettled (warm shutdown, connection loss): messages no
        task finished with, so their delivery does not count towards the dead-letter limit."""
        held = [self._held.pop(tag) for tag in delivery_tags if tag in self._held]
        self.transport.flush_acks()
        self._release_rows(held, uncount=True)

    def _release_rows(self, held, *, uncount=False):
        if not held:
            return
        self.db.release([(row_id, token) for row_id, token, _ in held], uncount=uncount)
        for _, _, queue in held:
            self._scan.pop(queue, None)  # the released rows lie behind the resume point

    def close(self):
        """Give back what this channel holds, with the lease keeper stopped first: a renewal racing the
        give-back must not extend what is given back (the token already makes it miss; stopping
        first makes the order plain). The keeper resumes if other channels still consume or hold."""
        if self.closed:
            return super().close()
        transport = self.transport
        transport.keeper.stop()
        try:
            super().close()  # detaches the channel from its transport
        finally:
            if any(channel._consumers or channel._held for channel in transport.channels if channel is not self):
                transport.keeper.ensure_running()

    def held_leases(self) -> list[tuple[int, int]]:
        """(row id, lease token) of every message this channel holds unsettled."""
        return [(row_id, token) for row_id, token, _ in list(self._held.values())]

    def consumed_queues(self) -> list[str]:
        return list(self._active_queues)


class Transport(virtual.Transport):
    Channel = Channel

    driver_type = "django"
    driver_name = "django"
    default_port = None
    polling_interval = 0.2  # longest idle poll on SQLite; PostgreSQL waits on NOTIFY instead
    min_polling_interval = 0.01
    notify_wait = 0.5  # PostgreSQL: also look without a NOTIFY this often (expired leases)

    implements = virtual.Transport.implements.extend(
        asynchronous=False, exchange_type=frozenset(["direct", "topic", "fanout"]), heartbeats=False
    )
    connection_errors = virtual.Transport.connection_errors + (OperationalError, InterfaceError)
    channel_errors = virtual.Transport.channel_errors + (DatabaseError,)

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        options = client.transport_options
        self.alias = database_alias(client.hostname, options.get("database_alias"))
        self.lease_seconds = float(options.get("visibility_timeout", 60))
        self.batch_size = int(options.get("batch_size", 100))
        self.ack_delay = float(options.get("ack_delay", 0.05))
        self.binding_cache_seconds = float(options.get("binding_cache_seconds", 1.0))
        self.max_deliveries = int(options.get("max_deliveries") or _max_deliveries_setting())
        self.db = sql.PrivateDatabase(self.alias)
        self.keeper = LeaseKeeper(self)
        self._acks: deque[tuple[int, int]] = deque()  # (row id, lease token)
        self._oldest_ack = 0.0
        self._idle_wait = self.min_polling_interval
        self._next_channel = 0
        # The wake-up pipe and the private connection are opened by establish_connection: kombu builds
        # a transport for a Connection that may never connect (as_uri, a health probe while the database
        # is down), and nothing would close them then.
        self._wake_r = self._wake_w = -1

    # The URL is just "django://": no host, no credentials (the database comes from Django's settings).
    can_parse_url = True
    default_connection_params = {"port": None, "hostname": None}

    def as_uri(self, uri, include_password=False, mask="**"):
        return "django://" if self.alias == "default" else f"django://{self.alias}"

    def driver_version(self):
        import django

        return django.get_version()

    def establish_connection(self):
        import django
        from django.apps import apps

        if not apps.ready and not apps.loading:
            django.setup()  # `celery inspect ...` and other clients that never set Django up
        self.db.run("SELECT 1")  # fail fast (and let kombu retry) if the database is down
        if self._wake_r < 0:
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
        return super().establish_connection()

    def close_connection(self, connection):
        # The keeper stops first: a renewal racing the give-back below must not lease again what is
        # given back (the token check already makes it miss; stopping first makes it plain).
        self.keeper.stop()
        try:
            self.flush_acks()
            super().close_connection(connection)  # closes channels: unacked leases are released
            self.flush_acks()
        finally:
            self.db.close()
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake_r = self._wake_w = -1

    # --- acks ------------------------------------------------------------------------------------

    def ack_later(self, lease: tuple[int, int]) -> None:
        if not self._acks:
            self._oldest_ack = time.monotonic()
        self._acks.append(lease)

    def take_pending_acks(self) -> list[tuple[int, int]]:
        taken = []
        while True:
            try:
                taken.append(self._acks.popleft())
            except IndexError:
                return taken

    def return_pending_acks(self, row_ids) -> None:
        self._acks.extend(row_ids)

    def acks_due(self) -> bool:
        return bool(self._acks) and time.monotonic() - self._oldest_ack >= self.ack_delay

    def flush_acks(self) -> None:
        leases = self.take_pending_acks()
        if not leases:
            return
        try:
            self.db.delete(leases)
        except Exception:
            self.return_pending_acks(leases)
            raise

    # --- the consumer loop -----------------------------------------------------------------------

    def wake(self) -> None:
        if self._wake_w < 0:
            return
        try:
            os.write(self._wake_w, b"!")
        except OSError as exc:  # pipe full: a wake-up is already pending
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise

    def drain_events(self, connection, timeout=None):
        """Deliver what is ready; else sleep (NOTIFY, a freed slot, or the poll) and look again.

        Blocks until something is delivered or `timeout` runs out: kombu's pidbox reply collection
        reads a timeout as "no more replies". A worker asked to stop returns early, because Celery's
        synloop only notices the request between calls (a full 2 s wait delayed every warm shutdown).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._deliver_once():
                self._idle_wait = self.min_polling_interval
                return
            now = time.monotonic()
            if deadline is not None and now >= deadline or _worker_is_stopping():
                raise TimeoutError()
            wait = self._idle_wait if self.db.vendor == "sqlite" else self.notify_wait
            if deadline is not None:
                wait = min(wait, deadline - now)
            self._sleep(wait)
            self._idle_wait = min(self._idle_wait * 2, self.polling_interval)

    def _deliver_once(self) -> bool:
        channels = list(self.channels)
        for offset in range(len(channels)):
            channel = channels[(self._next_channel + offset) % len(channels)]
            try:
                channel.drain_events(callback=self._deliver)
            except Empty:
                continue
            self._next_channel = (self._next_channel + offset + 1) % len(channels)
            return True
        return False

    def _sleep(self, seconds: float) -> None:
        """Until a NOTIFY (PostgreSQL), an ack that freed a slot, or `seconds`."""
        fds = [self._wake_r]
        pg = self.db.fileno()
        if pg is not None:
            fds.append(pg)
        try:
            readable, _, _ = select.select(fds, [], [], max(seconds, 0))
        except (OSError, ValueError):  # fd closed under us: the next query reconnects
            time.sleep(min(seconds, 0.1))
            return
        if self._wake_r in readable:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        if pg is not None and pg in readable:
            self.db.consume_notifies()  # else select() would keep answering at once
