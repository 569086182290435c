"""Errors a retry can cure, and the one way our tasks retry them (CONVENTIONS.md §12).

A lost or restarting database (Django's OperationalError/InterfaceError: connection refused or
closed, "terminating connection due to administrator command", deadlock and serialization
failures, SQLite's "database is locked"), an unreachable Redis or broker: retried with exponential
backoff and jitter. Anything else is deterministic: retrying would fail the same way.
"""

from __future__ import annotations

import logging
import random

from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError, connections
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (
    OperationalError,
    InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
    BrokerOperationalError,
    ConnectionError,  # the builtin: refused, reset, aborted
    SoftTimeLimitExceeded,  # a statement hung on a dying server; the next try starts clean
)

RETRY_BACKOFF, RETRY_BACKOFF_MAX, MAX_RETRIES = 2, 60, 8


def backoff_seconds(retries: int) -> float:
    """2, 4, 8 ... up to 60 s, half of it random (full jitter on the upper half), so retries spread out."""
    step = min(RETRY_BACKOFF * 2**retries, RETRY_BACKOFF_MAX)
    return step / 2 + random.uniform(0, step / 2)


def drop_broken_connections() -> None:
    """Close this process's database connections that failed or are too old (Django does it per request).

    Celery's Django fixup keeps connections across tasks (CELERY_DB_REUSE_MAX), so without this one
    pool process would fail every later task on a connection the server closed.
    """
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            continue  # a caller's transaction (a task applied inside one, a test): not ours to end
        try:
            conn.close_if_unusable_or_obsolete()
        except Exception:  # closing a dead connection may itself fail; it is gone either way
            logger.debug("closing a broken connection failed", exc_info=True)


def retry_transient(task, exc: BaseException):
    """Raise the task's retry for a transient error, after dropping connections the error broke."""
    drop_broken_connections()
    logger.warning(
        "%s[%s]: transient %s, retry %s of %s",
        task.name,
        task.request.id,
        type(exc).__name__,
        task.request.retries + 1,
        MAX_RETRIES,
    )
    return task.retry(exc=exc, countdown=backoff_seconds(task.request.retries), max_retries=MAX_RETRIES)
