"""How many messages wait in a queue, asked of whichever broker is live (Redis, django://, RabbitMQ)."""

from __future__ import annotations

import logging

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
