"""How many messages wait in a queue, asked of whichever broker is live (Redis, django://, RabbitMQ)."""

from __future__ import annotations

import json
import logging
import time

logger = logging.getLogger(__name__)


def queue_depths(queues, *, connect_timeout: float = 3) -> dict[str, int]:
    """Ready (not yet delivered) messages per queue; raises when the broker cannot be reached."""
    from backend.celery import app

    depths = {}
    with app.connection_for_read(connect_timeout=connect_timeout) as conn:
        conn.ensure_connection(max_retries=1)
        for queue in queues:
            channel = conn.channel()  # one per queue: AMQP closes a channel on "not found"
            try:
                depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except conn.channel_errors:
                depths[queue] = 0  # never declared (Redis: an empty queue has no key) = nothing waiting
            finally:
                try:
                    channel.close()
                except Exception:
                    logger.debug("closing a probe channel failed", exc_info=True)
    return depths


# The header backend/celery.py stamps on every task message (epoch seconds at publish): Redis keeps no
# time with a message, and django:// rows have none either, so the age of a waiting message is read here.
PUBLISHED_AT_HEADER = "published_at"


def queue_stats(queues=None, *, connect_timeout: float = 3) -> dict[str, dict]:
    """{queue: {"depth": ready messages, "oldest_age_seconds": age of the oldest ready one, or None}}.

    Ready = published and not delivered (Redis: in the list; django://: not leased). The age comes from
    the `published_at` header; a message without it (published before the header existed, or by a
    non-Celery producer) has no age, and a broker that cannot be read that way (RabbitMQ) gives None.
    The health check and /metrics call this; it raises when the broker cannot be reached.
    """
    from django.conf import settings

    from backend.celery import app

    queues = list(queues or settings.TASK_QUEUE_NAMES)
    with app.connection_for_read(connect_timeout=connect_timeout) as conn:
        kind = conn.transport.driver_type
        if kind == "django":  # the rows are read on Django's own connection: no broker connection needed
            return _django_stats(conn.transport.alias, queues)
        if kind == "redis":
            conn.ensure_connection(max_retries=1)
            return _redis_stats(conn.default_channel, queues)
    return {queue: {"depth": depth, "oldest_age_seconds": None} for queue, depth in queue_depths(queues).items()}


def _age(payload, now: float) -> float | None:
    """Seconds since the message's `published_at` header; None without one."""
    try:
        message = json.loads(payload)
        stamp = float((message.get("headers") or {})[PUBLISHED_AT_HEADER])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return round(max(0.0, now - stamp), 3)


def _oldest(ages) -> float | None:
    known = [age for age in ages if age is not None]
    return max(known) if known else None


def _redis_stats(channel, queues) -> dict[str, dict]:
    """kombu's Redis transport keeps a queue as one list per priority step, LPUSHed and taken with BRPOP:
    the right end of each list is the next message out, and the oldest one there (one LINDEX per list)."""
    keys = {queue: [channel._q_for_pri(queue, step) for step in channel.priority_steps] for queue in queues}
    with channel.conn_or_acquire() as client, client.pipeline(transaction=False) as pipe:
        for queue in queues:
            for key in keys[queue]:
                pipe.llen(key)
                pipe.lindex(key, -1)
        replies = pipe.execute()
    now = time.time()
    stats, at = {}, 0
    for queue in queues:
        pairs = replies[at : at + 2 * len(keys[queue])]
        at += len(pairs)
        depth = sum(int(n or 0) for n in pairs[0::2])
        stats[queue] = {"depth": depth, "oldest_age_seconds": _oldest(_age(p, now) for p in pairs[1::2] if p)}
    return stats


def _django_stats(alias: str, queues) -> dict[str, dict]:
    """django:// rows: ready = not leased (visible_at <= now). The oldest is the lowest id; one `LIMIT 1`
    per priority rank keeps to the (queue, rank, id) index instead of reading a whole backlog."""
    from django.db import connections

    now = time.time()
    ranks = " UNION ALL ".join(
        f"SELECT * FROM (SELECT payload FROM broker_message WHERE queue = %s AND rank = {rank} AND visible_at <= %s "
        "ORDER BY id LIMIT 1) AS r" + str(rank)
        for rank in range(10)
    )
    stats = {}
    with connections[alias].cursor() as cursor:
        for queue in queues:
            cursor.execute("SELECT COUNT(*) FROM broker_message WHERE queue = %s AND visible_at <= %s", [queue, now])
            depth = cursor.fetchone()[0]
            heads = []
            if depth:
                cursor.execute(ranks, [value for _ in range(10) for value in (queue, now)])
                heads = [row[0] for row in cursor.fetchall()]
            stats[queue] = {"depth": depth, "oldest_age_seconds": _oldest(_age(p, now) for p in heads)}
    return stats
