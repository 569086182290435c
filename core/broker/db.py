"""SQL of the django:// broker, for SQLite and PostgreSQL.

Two kinds of connection are used:
- publishing goes through the caller's Django connection (`django.db.connections[alias]`), so a
  message published inside a transaction becomes visible when it commits, and vanishes with it;
- everything else (leases, acks, renewals, declarations, lookups) goes through a `PrivateDatabase`:
  a connection of our own, outside `django.db.connections`, in autocommit. Celery's Django fixup
  closes Django's connections around every task; it never sees this one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import weakref
from collections.abc import Iterable, Sequence

from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "kombu_django"
SUPPORTED_VENDORS = ("sqlite", "postgresql")
_COLUMNS = "queue, rank, visible_at, payload"


def new_token() -> int:
    """A fresh lease token: random, positive, fits a signed 64-bit column (0 means "not leased")."""
    return secrets.randbits(62) + 1


def _placeholders(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


def vendor_of(alias: str) -> str:
    vendor = connections[alias].vendor
    if vendor not in SUPPORTED_VENDORS:
        raise ImproperlyConfigured(f"django:// supports SQLite and PostgreSQL, not {vendor}")
    return vendor


# --- publishing, on the caller's connection ------------------------------------------------------


def _on_callers_connection(alias: str, statement: str, params: list) -> None:
    """Run one statement on the caller's Django connection; in autocommit, a connection that broke
    (the database restarted) is replaced and the statement tried once more.

    Django reopens a broken connection only around a request or a task; a worker's main process
    answers remote control (ping, inspect) between tasks, on this connection, and after a database
    restart it never answered again. Inside the caller's transaction the error is the caller's: the
    message would vanish with that transaction anyway.
    """
    conn = connections[alias]
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
    except (OperationalError, InterfaceError):
        if conn.in_atomic_block:
            raise
        conn.close_if_unusable_or_obsolete()
        if conn.connection is not None:  # still usable: the error was not the connection's
            raise
        logger.warning("django://: the publishing connection was broken; reconnected", exc_info=True)
        with conn.cursor() as cur:
            cur.execute(statement, params)


def publish(alias: str, queue: str, rank: int, payload: str) -> None:
    if connections[alias].vendor == "postgresql":
        # One statement: the row and the wake-up for LISTENing consumers commit together.
        _on_callers_connection(
            alias,
            f"WITH m AS (INSERT INTO broker_message ({_COLUMNS}) VALUES (%s, %s, 0, %s) RETURNING 1) "
            "SELECT pg_notify(%s, %s)",
            [queue, rank, payload, NOTIFY_CHANNEL, queue],
        )
    else:
        _on_callers_connection(
            alias, f"INSERT INTO broker_message ({_COLUMNS}) VALUES (%s, %s, 0, %s)", [queue, rank, payload]
        )


def publish_fanout(alias: str, exchange: str, rank: int, payload: str) -> None:
    """One copy of the message for every queue bound to `exchange`."""
    insert = (
        f"INSERT INTO broker_message ({_COLUMNS}) "
        "SELECT DISTINCT queue, %s, 0, %s FROM broker_binding WHERE exchange = %s"
    )
    if connections[alias].vendor == "postgresql":
        _on_callers_connection(
            alias,
            f"WITH m AS ({insert} RETURNING 1) SELECT pg_notify(%s, %s)",
            [rank, payload, exchange, NOTIFY_CHANNEL, exchange],
        )
    else:
        _on_callers_connection(alias, insert, [rank, payload, exchange])


# --- the private connection ---------------------------------------------------------------------

_live: weakref.WeakSet[PrivateDatabase] = weakref.WeakSet()
_orphans: list = []  # connections inherited across fork: kept, never used, never finalised


def _forget_connections_after_fork() -> None:
    # A forked pool child must not use, nor close (PostgreSQL would end the parent's session), the
    # parent's connection: drop it without finalising it. The child opens its own if it needs one.
    for db in list(_live):
        if db._wrapper is not None:
            _orphans.append(db._wrapper)
            db._wrapper = None
        db.lock = threading.RLock()


os.register_at_fork(after_in_child=_forget_connections_after_fork)


def close_all() -> None:
    """Close every private broker connection of this process (before dropping a test database)."""
    for db in list(_live):
        db.close()


class PrivateDatabase:
    """A connection of the transport's own, shared by its consumer thread and its lease keeper."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.vendor = vendor_of(alias)
        self.lock = threading.RLock()
        self._wrapper = None
        _live.add(self)

    # connection management

    def _connection(self):
        if self._wrapper is None:
            wrapper = connections.create_connection(self.alias)
            wrapper.inc_thread_sharing()  # the consumer thread and the lease keeper take turns
            wrapper.ensure_connection()
            if self.vendor == "postgresql":
                raw = wrapper.connection
                # With a handler, psycopg hands notifications to it instead of queueing them in an
                # unbounded backlog; the consumer only needs to wake up, which select() already did.
                raw.add_notify_handler(lambda notify: None)
                with wrapper.cursor() as cur:
                    cur.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._wrapper = wrapper
        return self._wrapper

    def fileno(self) -> int | None:
        """The socket to select() on for NOTIFY (PostgreSQL only, once connected)."""
        wrapper = self._wrapper
        if self.vendor != "postgresql" or wrapper is None or wrapper.connection is None:
            return None
        try:
            return wrapper.connection.fileno()
        except Exception:
            return None

    def consume_notifies(self) -> None:
        """Read pending NOTIFY messages off the socket; being woken was all we needed of them."""
        with self.lock:
            wrapper = self._wrapper
            if wrapper is None or wrapper.connection is None:
                return
            try:
                pgconn = wrapper.connection.pgconn
                pgconn.consume_input()
                while pgconn.notifies() is not None:
                    pass
            except Exception:  # a broken connection: the next query reconnects
                self.close()

    def close(self) -> None:
        with self.lock:
            wrapper, self._wrapper = self._wrapper, None
            if wrapper is not None:
                try:
                    wrapper.close()
                except Exception:  # closing a broken connection
                    logger.debug("closing the broker connection failed", exc_info=True)

    def run(self, sql: str, params: Iterable = (), *, fetch: bool = False, via=None):
        """Execute one statement in autocommit; rows when `fetch`, else the row count.

        `via`: a Django connection to use instead (see `declaring_connection`).
        """
        if via is not None:
            with via.cursor() as cur:
                cur.execute(sql, list(params))
                return cur.fetchall() if fetch else cur.rowcount
        with self.lock:
            try:
                with self._connection().cursor() as cur:
                    cur.execute(sql, list(params))
                    return cur.fetchall() if fetch else cur.rowcount
            except (OperationalError, InterfaceError) as exc:
                if not is_busy(exc):
                    self.close()  # reconnect next time
                raise

    def declaring_connection(self):
        """The connection a declaration must write through: ours, except on SQLite inside the caller's
        transaction, where our write would wait for the lock the caller itself holds until it commits."""
        caller = connections[self.alias]
        return caller if self.vendor == "sqlite" and caller.in_atomic_block else None

    # messages

    def lease(
        self,
        queue: str,
        *,
        limit: int,
        now: float,
        until: float,
        after: tuple[int, int] | None,
        take: bool,
        token: int = 0,
        acks: Sequence[tuple[int, int]] = (),
    ) -> list[tuple[int, int, str, int]]:
        """Reserve up to `limit` visible messages of `queue` in delivery order, in one statement.

        The reservation writes `token` (fresh for each reservation: see `new_token`) and counts the
        delivery; `take` deletes the rows instead (no-ack consumers); `after` resumes a scan past
        (rank, id); `acks`, (id, token) pairs, are deleted in the same round trip (PostgreSQL) or
        just before (SQLite). Returns (id, rank, payload, deliveries) sorted in delivery order.
        """
        params: list = [queue, now]
        where = "queue = %s AND visible_at <= %s"
        if after is not None:
            where += " AND (rank, id) > (%s, %s)"
            params += list(after)
        lock = " FOR UPDATE SKIP LOCKED" if self.vendor == "postgresql" else ""
        pick = f"SELECT id FROM broker_message WHERE {where} ORDER BY rank, id LIMIT %s{lock}"
        params.append(limit)
        if take:
            sql = f"DELETE FROM broker_message WHERE id IN ({pick}) RETURNING id, rank, payload, deliveries + 1"
        else:
            sql = (
                "UPDATE broker_message SET visible_at = %s, lease_token = %s, deliveries = deliveries + 1 "
                f"WHERE id IN ({pick}) RETURNING id, rank, payload, deliveries"
            )
            params[:0] = [until, token]
        if acks and self.vendor == "postgresql":
            fenced, fenced_params = self._fenced(acks)
            sql = f"WITH acked AS (DELETE FROM broker_message WHERE {fenced}) {sql}"
            params = fenced_params + params
        elif acks:
            self.delete(acks)
        rows = self.run(sql, params, fetch=True)
        rows.sort(key=lambda row: (row[1], row[0]))
        return rows

    def has_ready(self, queue: str, now: float) -> bool:
        """A read-only look: is anything deliverable in `queue`? (Takes no write lock on SQLite.)"""
        rows = self.run(
            "SELECT 1 FROM broker_message WHERE queue = %s AND visible_at <= %s LIMIT 1", [queue, now], fetch=True
        )
        return bool(rows)

    # Fenced writes (CONVENTIONS.md §13): each names (id, lease token) pairs and touches only rows that
    # still carry the holder's token. A holder whose lease ran out and whose message another worker
    # now holds (or that was given back) changes nothing.

    def _fenced(self, leases: Sequence[tuple[int, int]]) -> tuple[str, list]:
        """A WHERE clause matching the rows of `leases` that still carry their token, and its params."""
        if self.vendor == "postgresql":
            # Two array parameters whatever the count: one plan, primary-key lookups.
            return (
                "(id, lease_token) IN (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))",
                [[row_id for row_id, _ in leases], [token for _, token in leases]],
            )
        # SQLite: the id list finds the rows by rowid, the pairs fence them.
        ids = [row_id for row_id, _ in leases]
        pairs = ", ".join(["(%s, %s)"] * len(leases))
        return (
            f"id IN ({_placeholders(ids)}) AND (id, lease_token) IN (VALUES {pairs})",
            ids + [value for lease in leases for value in lease],
        )

    def delete(self, leases: Sequence[tuple[int, int]]) -> int:
        """Ack: delete the rows still leased with these tokens. Returns how many were."""
        done = 0
        for chunk in _chunks(leases):
            where, params = self._fenced(chunk)
            done += self.run(f"DELETE FROM broker_message WHERE {where}", params)
        return done

    def renew(self, leases: Sequence[tuple[int, int]], until: float) -> set[int]:
        """Extend the leases still held with these tokens; returns the ids renewed."""
        renewed: set[int] = set()
        for chunk in _chunks(leases):
            where, params = self._fenced(chunk)
            rows = self.run(
                f"UPDATE broker_message SET visible_at = %s WHERE {where} RETURNING id", [until, *params], fetch=True
            )
            renewed.update(row[0] for row in rows)
        return renewed

    def release(self, leases: Sequence[tuple[int, int]], *, uncount: bool = False) -> int:
        """Give the messages back (visible now, token cleared, so a racing renewal misses them).

        `uncount`: the messages were held but never handed to a task (a warm shutdown gives back its
        prefetched and ETA messages), so that delivery does not count towards the dead-letter limit.
        """
        count = ", deliveries = CASE WHEN deliveries > 0 THEN deliveries - 1 ELSE 0 END" if uncount else ""
        done = 0
        for chunk in _chunks(leases):
            where, params = self._fenced(chunk)
            done += self.run(f"UPDATE broker_message SET visible_at = 0, lease_token = 0{count} WHERE {where}", params)
        return done

    def dead_letter(self, lease: tuple[int, int], now: float) -> bool:
        """Move one leased message to broker_dead_letter, atomically; False if the lease was lost."""
        row_id, token = lease
        columns = "queue, rank, payload, deliveries"
        # deliveries - 1: the reservation that found the message over the limit delivered nothing.
        picked = "queue, rank, payload, deliveries - 1"
        if self.vendor == "postgresql":
            rows = self.run(
                f"WITH moved AS (DELETE FROM broker_message WHERE id = %s AND lease_token = %s RETURNING {columns}) "
                f"INSERT INTO broker_dead_letter ({columns}, died_at) SELECT {picked}, %s FROM moved RETURNING 1",
                [row_id, token, now],
                fetch=True,
            )
            return bool(rows)
        with self.lock:
            self.run("BEGIN IMMEDIATE")
            try:
                moved = self.run(
                    f"INSERT INTO broker_dead_letter ({columns}, died_at) "
                    f"SELECT {picked}, %s FROM broker_message WHERE id = %s AND lease_token = %s",
                    [now, row_id, token],
                )
                self.run("DELETE FROM broker_message WHERE id = %s AND lease_token = %s", [row_id, token])
                self.run("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    self.run("ROLLBACK")
                raise
        return moved > 0

    def size(self, queue: str) -> int:
        return self.run("SELECT COUNT(*) FROM broker_message WHERE queue = %s", [queue], fetch=True)[0][0]

    def purge(self, queue: str, now: float) -> int:
        """Delete the ready (not leased) messages of `queue`."""
        return self.run("DELETE FROM broker_message WHERE queue = %s AND visible_at <= %s", [queue, now])

    # queues and bindings

    def declare_queue(self, name: str, expires: float | None, now: float) -> None:
        # Read first: the task queues exist after the first declaration, so publishing writes nothing.
        rows = self.run("SELECT expires FROM broker_queue WHERE name = %s", [name], fetch=True)
        if rows and rows[0][0] == expires and expires is None:
            return
        self.run(
            "INSERT INTO broker_queue (name, expires, last_seen) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET expires = excluded.expires, last_seen = excluded.last_seen",
            [name, expires, now],
            via=self.declaring_connection(),
        )

    def has_queue(self, name: str) -> bool:
        return bool(self.run("SELECT 1 FROM broker_queue WHERE name = %s", [name], fetch=True))

    def delete_queue(self, name: str) -> None:
        self.run("DELETE FROM broker_message WHERE queue = %s", [name])
        self.run("DELETE FROM broker_binding WHERE queue = %s", [name])
        self.run("DELETE FROM broker_queue WHERE name = %s", [name])

    def touch_queues(self, names: Sequence[str], now: float) -> set[str]:
        """Mark queues as consumed; returns those that no longer exist (swept while we slept)."""
        found: set[str] = set()
        for chunk in _chunks(list(names)):
            rows = self.run(
                f"UPDATE broker_queue SET last_seen = %s WHERE name IN ({_placeholders(chunk)}) RETURNING name",
                [now, *chunk],
                fetch=True,
            )
            found.update(row[0] for row in rows)
        return set(names) - found

    def sweep_stale_queues(self, now: float, min_grace: float) -> list[str]:
        """Remove expiring queues (pidbox, replies) nobody touched for max(expires, min_grace) seconds."""
        rows = self.run(
            "DELETE FROM broker_queue WHERE expires IS NOT NULL AND last_seen < %s - "
            "CASE WHEN expires > %s THEN expires ELSE %s END RETURNING name",
            [now, min_grace, min_grace],
            fetch=True,
        )
        names = [row[0] for row in rows]
        for chunk in _chunks(names):
            self.run(f"DELETE FROM broker_message WHERE queue IN ({_placeholders(chunk)})", chunk)
            self.run(f"DELETE FROM broker_binding WHERE queue IN ({_placeholders(chunk)})", chunk)
        return names

    def bind(self, exchange: str, queue: str, routing_key: str, pattern: str) -> None:
        exists = self.run(
            "SELECT 1 FROM broker_binding WHERE exchange = %s AND queue = %s AND routing_key = %s",
            [exchange, queue, routing_key or ""],
            fetch=True,
        )
        if exists:
            return
        self.run(
            "INSERT INTO broker_binding (exchange, queue, routing_key, pattern) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (exchange, queue, routing_key) DO NOTHING",
            [exchange, queue, routing_key or "", pattern or ""],
            via=self.declaring_connection(),
        )

    def unbind(self, exchange: str, queue: str, routing_key: str) -> None:
        self.run(
            "DELETE FROM broker_binding WHERE exchange = %s AND queue = %s AND routing_key = %s",
            [exchange, queue, routing_key or ""],
        )

    def bindings(self, exchange: str) -> list[tuple[str, str, str]]:
        rows = self.run(
            "SELECT routing_key, pattern, queue FROM broker_binding WHERE exchange = %s", [exchange], fetch=True
        )
        return [(rk, pattern or None, queue) for rk, pattern, queue in rows]


def is_busy(exc: Exception) -> bool:
    """SQLite's 'database is locked': another writer holds the lock; try again later."""
    return "locked" in str(exc) or "busy" in str(exc)


def _chunks(values: Sequence, size: int = 500):
    for start in range(0, len(values), size):
        yield list(values[start : start + size])
