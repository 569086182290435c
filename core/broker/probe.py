"""The one start-up question: does Redis answer?"""

import logging

logger = logging.getLogger(__name__)


def redis_answers(url: str, *, timeout: float = 0.5) -> bool:
    """PING Redis at `url` with a short timeout; False for an empty URL or any failure."""
    if not url:
        return False
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception as exc:  # any failure means "use the database instead"
        logger.debug("Redis at %s did not answer: %s", url, exc)
        return False
