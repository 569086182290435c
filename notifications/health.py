"""The notifications app's part in health: its findings, and the channel alerts go out through.

Both are registered with core.health from NotificationsConfig.ready(), so core imports no domain app.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.health import HealthFinding

logger = logging.getLogger(__name__)

FAILED_WINDOW = timedelta(days=1)


def stuck_after_seconds() -> int:
    """How far past due a queued e-mail may be before it is stuck: the relay publishes any queued row
    NOTIFICATION_OVERDUE_SECONDS past due again, and a sender may then hold it for a lease. A row that is
    being retried is not past due (each failed attempt moves `next_attempt_at` to the next try)."""
    return settings.NOTIFICATION_OVERDUE_SECONDS + settings.NOTIFICATION_LEASE_SECONDS


def check_notifications() -> dict:
    """No e-mail failed in the last day, and none is queued for longer than its retry schedule allows."""
    from notifications.models import Notification

    now = timezone.now()
    # "Failed in the last day" by updated_at. The failing attempt's UPDATE (sending.py) does not set it, so
    # it is when the row was created or last saved; the retries end within the retry schedule (at most
    # ~16 minutes with the defaults) of that, so only an admin's "Send again" of an older row is missed.
    failed = Notification.objects.filter(status=Notification.Status.FAILED, updated_at__gte=now - FAILED_WINDOW).count()
    allowed = stuck_after_seconds()
    stuck = Notification.objects.filter(
        status=Notification.Status.QUEUED, next_attempt_at__lt=now - timedelta(seconds=allowed)
    ).count()
    problems = []
    if failed:
        problems.append(
            f"{failed} e-mail(s) failed in the last 24 hours (admin: Notifications, status failed; "
            "'Send again' once the cause is fixed)"
        )
    if stuck:
        problems.append(f"{stuck} e-mail(s) queued and over {allowed} s past due")
    if problems:
        raise HealthFinding("; ".join(problems))
    queued = Notification.objects.filter(status=Notification.Status.QUEUED).count()
    return {"summary": f"{queued} queued, none stuck; none failed in 24 h", "queued": queued}


def alert_admins(*, subject: str, body: str, key: str) -> int:
    """One e-mail per address in settings.ADMINS through the outbox (stored, sent by a worker, retried,
    addresses masked in logs and results); published when the caller's transaction commits. How many."""
    from notifications.privacy import NotificationRejected, mask_email
    from notifications.services import notification_create, notifications_enqueue

    ids = []
    for _name, address in settings.ADMINS:
        digest = hashlib.sha256(address.encode()).hexdigest()[:16]  # the key names no address
        try:
            row = notification_create(
                recipient=address, subject=subject, body=body, idempotency_key=f"{key}:{digest}", enqueue=False
            )
        except NotificationRejected as exc:
            logger.error("Health alert to %s refused: %s", mask_email(address), exc)
            continue
        ids.append(row.id)
    if ids:
        # robust: a broker that is down (often the very reason for the alert) must not undo the run; the
        # rows stay queued and requeue_overdue_notifications publishes them once the broker is back.
        transaction.on_commit(lambda: notifications_enqueue(ids=ids), robust=True)
    elif not settings.ADMINS:
        logger.warning("Health alert not e-mailed: DJANGO_ADMINS is empty")
    return len(ids)
