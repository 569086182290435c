"""Sending queued notifications over one SMTP connection per batch, each e-mail at most once.

A batch takes its rows with one conditional UPDATE (status queued, no live lease) and marks each row
`sent` right after the server accepted it, before the next message. So a redelivered or retried task
finds the row sent and does not send it again. The one window left is a crash between the server's
"250 OK" and that UPDATE (milliseconds): the e-mail is then sent once more with the same Message-ID,
which mail clients use to drop duplicates.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import smtplib
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from notifications.claim_emails import claim_email_contents
from notifications.models import Notification
from notifications.privacy import mask_email, mask_emails_in

logger = logging.getLogger(__name__)

QUEUED = Notification.Status.QUEUED
ROWS_PER_LANE = 25  # a batch gets a second SMTP connection from 50 rows on


class Failure(Enum):
    PERMANENT = "permanent"  # 5xx reply, or a message we cannot build: retrying cannot help
    TRANSIENT = "transient"  # 4xx reply to this message: try it again later
    CONNECTION = "connection"  # refused, reset, timed out, disconnected: try the whole batch later


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # already sent, rejected, or held by another sender
    countdown: float = 0.0  # seconds until the retry is due
    error: str = ""  # the last error, addresses masked


def lease_token_for(holder: str | None) -> str:
    """32 characters naming a sender: a task id's hex (ids are UUIDs), else a fresh random one."""
    if holder:
        try:
            return uuid.UUID(holder).hex
        except ValueError:
            return hashlib.sha256(holder.encode()).hexdigest()[:32]
    return uuid.uuid4().hex


def retry_countdown(attempts: int) -> float:
    """Exponential backoff with jitter: half the step fixed, half random (no retry storm, never zero)."""
    step = min(settings.NOTIFICATION_RETRY_BACKOFF_MAX, settings.NOTIFICATION_RETRY_BACKOFF * 2 ** max(attempts - 1, 0))
    return step / 2 + random.uniform(0, step / 2)  # jitter, not cryptography


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return Failure.PERMANENT if codes and all(code >= 500 for code in codes) else Failure.TRANSIENT
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return Failure.CONNECTION
    if isinstance(exc, smtplib.SMTPResponseException):
        return Failure.PERMANENT if exc.smtp_code >= 500 else Failure.TRANSIENT
    return Failure.CONNECTION  # OSError (refused, reset, timeout) or another SMTPException


def describe(exc: BaseException) -> str:
    return mask_emails_in(f"{type(exc).__name__}: {exc}")[:2000]


def notifications_send(*, ids: list[int], holder: str | None = None) -> SendReport:
    """Send the queued rows among `ids` that nobody else holds; say what became of each.

    `holder` names the sender across its tries (the task id, which a retry and a redelivery keep): a
    try that died holding rows (the database went away mid-batch, the worker was killed) leaves them
    leased, and its next try takes them back at once instead of waiting NOTIFICATION_LEASE_SECONDS.
    Only one try of a task runs at a time, so this never lets two senders hold a row.
    """
    report = SendReport()
    token = lease_token_for(holder)
    now = timezone.now()
    lease = now + timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_token=token)
    Notification.objects.filter(free, id__in=ids, status=QUEUED).update(lease_token=token, lease_until=lease)
    rows = list(Notification.objects.filter(id__in=ids, lease_token=token, status=QUEUED).order_by("id"))
    taken = {row.id for row in rows}
    report.skipped = [i for i in ids if i not in taken]
    if not rows:
        return report
    unsent = {row.id: row for row in rows}
    by_id = dict(unsent)
    try:
        with _relaxed_commits():
            contents = claim_email_contents(
                claim_ids=[row.claim_id for row in rows if row.template == Notification.Template.CLAIM_DECISION]
            )
            _send_in_lanes(rows, contents, token, unsent, report)
    finally:
        # Whatever was not tried (connection lost, time limit): back to the queue, no attempt counted.
        if unsent:
            report.retry.extend(unsent)
        if report.retry:
            report.countdown = retry_countdown(max(by_id[i].attempts for i in report.retry))
            Notification.objects.filter(id__in=report.retry, lease_token=token).update(
                lease_token="", lease_until=None, next_attempt_at=timezone.now() + timedelta(seconds=report.countdown)
            )
    return report


@contextlib.contextmanager
def _relaxed_commits():
    """PostgreSQL: the per-message "sent" commits do not wait for the WAL flush while a batch is sent.

    Measured: the flush per message capped a batch at ~470 e-mails/s. A worker that dies still loses
    nothing (the commit is done in the server); only a crash of PostgreSQL itself within its WAL
    writer delay (~0.2 s) could forget a few "sent" marks, and those e-mails would go out once more
    (with the same Message-ID).
    """
    on = connection.vendor == "postgresql" and not connection.in_atomic_block
    if on:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        if on:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


def _send_in_lanes(rows, contents, token, unsent, report) -> None:
    """Send a batch over up to NOTIFICATION_SMTP_CONNECTIONS SMTP connections side by side, a thread each.

    Sending is mostly waiting: four replies from the server per message. With one connection a worker
    process sat at a third of a CPU; a few connections in parallel keep it busy. Each lane has its own
    SMTP connection and database connection and marks its own rows, so "sent once" holds per row as
    before. Only over SMTP (the file backend does not wait on anything) and for batches big enough.
    """
    lanes = min(settings.NOTIFICATION_SMTP_CONNECTIONS, len(rows) // ROWS_PER_LANE)
    if lanes <= 1 or not issubclass(type(get_connection()), SmtpBackend):
        _send_rows(rows, contents, token, unsent, report)
        return
    stop = threading.Event()

    def lane(part):
        try:
            with _relaxed_commits():
                _send_rows(part, contents, token, unsent, report, stop=stop)
        except Exception:  # its unsent rows stay in `unsent` and are retried
            logger.exception("A sending lane failed")
        finally:
            connection.close()  # this thread's own database connection

    threads = [threading.Thread(target=lane, args=(rows[i::lanes],), daemon=True) for i in range(lanes)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:  # the soft time limit, say: let each lane finish its message, then give back the rest
        stop.set()
        for thread in threads:
            thread.join(timeout=settings.EMAIL_TIMEOUT * 3)
        raise


def _send_rows(rows, contents, token, unsent, report, stop: threading.Event | None = None) -> None:
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as exc:
        for row in rows:  # every message of the batch was tried and could not go
            _attempt_failed(row, token, classify(exc), describe(exc), report)
            unsent.pop(row.id)
        return
    envelope_from = sanitize_address(settings.DEFAULT_FROM_EMAIL, settings.DEFAULT_CHARSET)
    try:
        for row in rows:
            if stop is not None and stop.is_set():
                return
            try:
                message, text = _message(row, contents)
            except Exception as exc:  # a row we cannot turn into an e-mail must not block the others
                logger.exception("Notification %s: could not build the message", row.id)
                _attempt_failed(row, token, Failure.PERMANENT, describe(exc), report)
                unsent.pop(row.id)
                continue
            try:
                _deliver(connection, message, envelope_from)
            except (smtplib.SMTPException, OSError) as exc:
                kind = classify(exc)
                _attempt_failed(row, token, kind, describe(exc), report)
                unsent.pop(row.id)
                if kind is Failure.CONNECTION:
                    return  # the rest of the batch goes back to the queue
                continue
            unsent.pop(row.id)
            _mark_sent(row, token, message, text)
            report.sent.append(row.id)
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.close()


def _deliver(connection, message: EmailMultiAlternatives, envelope_from: str) -> None:
    """Send one message over the open connection.

    SMTP: straight to smtplib, with the sender's address sanitised once per batch instead of per
    message and an ASCII recipient (already validated) used as it is; Django's `_send` spent ~0.4 ms
    of a ~2 ms message parsing the same two addresses again. Other backends (files): their own way.
    """
    smtp = getattr(connection, "connection", None) if isinstance(connection, SmtpBackend) else None
    if smtp is None:
        connection.send_messages([message])
        return
    recipients = [a if a.isascii() else sanitize_address(a, settings.DEFAULT_CHARSET) for a in message.recipients()]
    smtp.sendmail(envelope_from, recipients, message.message().as_bytes(linesep="\r\n"))


def _message(row: Notification, contents: dict) -> tuple[EmailMultiAlternatives, str | None]:
    """The e-mail for a row, and the text to store on it when sent (None: the row already has it)."""
    if row.template == Notification.Template.CLAIM_DECISION:
        text, html = contents[row.claim_id]
        stored = text
    else:
        text, html, stored = row.body, row.html_body, None
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].rstrip(">") or "localhost"
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.recipient],
        # Stable across retries: a copy sent twice (see the module docstring) can be recognised as one.
        headers={"Message-ID": f"<notification-{row.id}.{row.created_at:%Y%m%d%H%M%S}@{domain}>"},
    )
    if html:
        message.attach_alternative(html, "text/html")
    for attachment in row.attachments:
        message.attach(attachment["filename"], attachment["content"], attachment.get("mimetype") or "text/plain")
    return message, stored


_MARK_SENT = (
    f"UPDATE {Notification._meta.db_table} SET status = %s, sent_at = %s, attempts = attempts + 1, last_error = '', "
    "lease_token = '', lease_until = NULL, next_attempt_at = NULL, message_id = %s, body = COALESCE(%s, body), "
    "updated_at = %s WHERE id = %s AND lease_token = %s"
)


def _mark_sent(row: Notification, token: str, message: EmailMultiAlternatives, text: str | None) -> None:
    """One plain statement per message (the ORM's update() cost more than the statement itself)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [Notification.Status.SENT, now, message.extra_headers["Message-ID"], text, now, row.id, token]
    with connection.cursor() as cursor:
        cursor.execute(_MARK_SENT, params)
        if cursor.rowcount != 1:
            logger.error("Notification %s was sent but its lease had been taken over", row.id)


def _attempt_failed(row: Notification, token: str, kind: Failure, error: str, report: SendReport) -> None:
    attempts = row.attempts + 1
    report.error = error
    if kind is Failure.PERMANENT or attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
        Notification.objects.filter(id=row.id, lease_token=token).update(
            status=Notification.Status.FAILED,
            attempts=attempts,
            last_error=error,
            lease_token="",
            lease_until=None,
            next_attempt_at=None,
            updated_at=timezone.now(),  # update() skips auto_now; the health check reads it
        )
        report.failed.append(row.id)
        logger.warning(
            "Notification %s to %s failed after %s attempts: %s", row.id, mask_email(row.recipient), attempts, error
        )
        return
    row.attempts = attempts
    Notification.objects.filter(id=row.id, lease_token=token).update(
        attempts=attempts, last_error=error, updated_at=timezone.now()
    )
    report.retry.append(row.id)
    logger.info("Notification %s: attempt %s failed, will retry: %s", row.id, attempts, error)
