"""E-mail tasks. Their messages carry row ids only: addresses and bodies stay in the Notification rows.

`send_notification_email` is the seed's task (SEED.md "Email Notifications"), re-exported by
core/tasks.py under its seed name; the batch task sends claim decisions and other bulk e-mail.
"""

from __future__ import annotations

import logging

from celery import shared_task

from core.store_first import StoreFirstTask
from core.transient import TRANSIENT_ERRORS, retry_transient
from notifications.models import Notification
from notifications.privacy import NotificationRejected, mask_email
from notifications.sending import notifications_send
from notifications.services import notification_create, notifications_requeue_overdue

logger = logging.getLogger(__name__)

SEED_ARGUMENTS = ("recipient_email", "subject", "message")
ACCEPTED_ARGUMENTS = {*SEED_ARGUMENTS, "html_message", "idempotency_key", "notification_id"}


class NotificationFailed(RuntimeError):
    """The e-mail could not be delivered (a permanent refusal, or every attempt failed); the row says why."""


class NotificationDeferred(RuntimeError):
    """This attempt failed in a way worth retrying (the server down, a 4xx reply)."""


class NotificationTask(StoreFirstTask):
    """`delay(recipient_email=..., subject=..., message=...)` stores the e-mail first and sends only its id.

    The row is written in the caller's process and transaction, and the message is published when that
    transaction commits; so the broker, the worker log, Flower and the result backend see
    `{"notification_id": 7}` and never the address or the body, however the task is called (delay,
    apply_async, send_task by name: core/store_first.py). Bad input raises NotificationRejected right
    here, in the caller (the row is kept as `rejected` unless the caller's transaction rolls back).
    """

    message_arguments = frozenset({"notification_id"})

    def store(self, args: tuple, kwargs: dict) -> dict:
        if len(args) > len(SEED_ARGUMENTS):
            raise TypeError(f"send_notification_email takes at most {len(SEED_ARGUMENTS)} positional arguments")
        kwargs.update(zip(SEED_ARGUMENTS, args, strict=False))
        unknown = sorted(set(kwargs) - ACCEPTED_ARGUMENTS)
        if unknown:  # fail here, in the caller, not later in a worker
            raise TypeError(f"send_notification_email got unexpected arguments: {', '.join(unknown)}")
        if kwargs.get("notification_id") is not None:
            raise TypeError("give send_notification_email a notification_id alone, or the e-mail, not both")
        notification = notification_create(
            recipient=kwargs.get("recipient_email"),
            subject=kwargs.get("subject"),
            body=kwargs.get("message"),
            html_body=kwargs.get("html_message") or "",
            idempotency_key=kwargs.get("idempotency_key"),
            enqueue=False,
        )
        return {"notification_id": notification.id}


@shared_task(
    bind=True,
    base=NotificationTask,
    name="core.tasks.send_notification_email",
    max_retries=None,  # attempts are counted on the row (NOTIFICATION_MAX_ATTEMPTS), across redeliveries too
    soft_time_limit=60,
    time_limit=90,
    throws=(NotificationRejected, NotificationFailed),  # expected outcomes: logged without a traceback
)
def send_notification_email(
    self,
    recipient_email: str | None = None,
    subject: str | None = None,
    message: str | None = None,
    *,
    html_message: str = "",
    idempotency_key: str | None = None,
    notification_id: int | None = None,
) -> dict:
    """Send one e-mail (queue `default`); returns its notification id, status and masked recipient."""
    if notification_id is None:  # called in-process: `send_notification_email(recipient_email=...)`
        notification_id = notification_create(
            recipient=recipient_email,
            subject=subject,
            body=message,
            html_body=html_message,
            idempotency_key=idempotency_key,
            enqueue=False,
        ).id
    try:
        report = notifications_send(ids=[notification_id], holder=self.request.id)
    except TRANSIENT_ERRORS as exc:  # the database went away mid-send: the next try takes its row back
        raise retry_transient(self, exc) from exc
    if report.retry:
        raise self.retry(countdown=report.countdown, exc=NotificationDeferred(report.error))
    notification = Notification.objects.get(id=notification_id)
    if notification.status == Notification.Status.FAILED:
        raise NotificationFailed(f"notification {notification_id}: {notification.last_error}")
    return {
        "notification_id": notification_id,
        "status": notification.status,
        "recipient": mask_email(notification.recipient),
        "attempts": notification.attempts,
    }


@shared_task(bind=True, ignore_result=True, max_retries=None, soft_time_limit=300, time_limit=360)
def send_notification_batch(self, notification_ids: list[int]) -> None:
    """Send up to NOTIFICATION_BATCH_SIZE queued e-mails over one SMTP connection; retry what failed softly."""
    try:
        report = notifications_send(ids=notification_ids, holder=self.request.id)
    except TRANSIENT_ERRORS as exc:  # the database went away mid-batch: the next try takes its rows back
        raise retry_transient(self, exc) from exc
    if report.retry:
        raise self.retry(args=(report.retry,), countdown=report.countdown, exc=NotificationDeferred(report.error))


@shared_task(soft_time_limit=120, time_limit=150, expires=60)
def requeue_overdue_notifications() -> dict:
    """Every minute: queued e-mails whose message was lost are enqueued again (a lost message loses no e-mail)."""
    return {"requeued": notifications_requeue_overdue()}
