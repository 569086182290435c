"""Creating, enqueueing and re-sending notifications (the sending itself is in sending.py).

Every e-mail is a Notification row first; tasks carry only row ids. A row is created in the caller's
transaction and enqueued once that transaction commits, so a worker never looks for a row that is not
there yet, and a rolled-back decision sends nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.db import insert_rows
from core.enqueue import task_named  # services never import tasks: tasks import services
from members.models import Member
from notifications.models import Notification
from notifications.privacy import NotificationRejected, mask_email, notification_problem, printable

logger = logging.getLogger(__name__)

QUEUED = Notification.Status.QUEUED
CLAIM_SUBJECTS = {
    "approved": "Your claim {number} was approved",
    "partially_approved": "Your claim {number} was partially approved",
    "rejected": "Your claim {number} was rejected",
}
# A decision that replaces a reversed one with a different outcome (issue 13).
CLAIM_SUBJECTS_CHANGED = {
    "approved": "The decision on your claim {number} has changed: approved",
    "partially_approved": "The decision on your claim {number} has changed: partially approved",
    "rejected": "The decision on your claim {number} has changed: rejected",
}


def notification_create(
    *,
    recipient,
    subject,
    body,
    html_body: str = "",
    template: str = Notification.Template.PLAIN,
    claim_id: int | None = None,
    attachments: Iterable[tuple[str, str, str]] = (),
    idempotency_key: str | None = None,
    enqueue: bool = True,
) -> Notification:
    """Store one e-mail and (unless told not to) send it once the current transaction commits.

    An existing `idempotency_key` returns that row and sends nothing new. Bad input is stored as
    `rejected` with the reason and raises NotificationRejected: retrying cannot fix it.
    """
    key = idempotency_key or f"email:{uuid.uuid4().hex}"
    existing = Notification.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    problem = notification_problem(recipient=recipient, subject=subject, body=body)
    fields = {
        "idempotency_key": key,
        # A refused value is kept for the admin as far as it can be stored (no NUL in PostgreSQL).
        "recipient": printable(str(recipient))[:320],
        "subject": printable(str(subject))[:1000],
        "body": str(body) if problem is None else "",  # a refused body is not kept: it may be huge
        "html_body": html_body or "",
        "template": template,
        "claim_id": claim_id,
        "attachments": [{"filename": n, "content": c, "mimetype": m} for n, c, m in attachments],
        "next_attempt_at": timezone.now(),
    }
    if problem is not None:
        fields.update(status=Notification.Status.REJECTED, last_error=problem, next_attempt_at=None)
    try:
        with transaction.atomic():
            notification = Notification.objects.create(**fields)
    except IntegrityError:
        return Notification.objects.get(idempotency_key=key)  # created by a concurrent call with the same key
    if problem is not None:
        logger.info("Notification %s to %s rejected: %s", notification.id, mask_email(recipient), problem)
        raise NotificationRejected(problem)
    if enqueue:
        transaction.on_commit(lambda: notifications_enqueue(ids=[notification.id]))
    return notification


def claim_decision_notifications_create(*, decisions: list[tuple[int, str, str, int, int]]) -> int:
    """One e-mail per decided claim to the principal member, in the decision's transaction; sent after commit.

    `decisions` are (claim id, claim number, status, family id, decision round). Round 0 is the first
    decision (key `claim-decision:<id>`); a later round is a decision after a reversal that changed the
    outcome (key `claim-decision:<id>:<round>`, so it is a new e-mail, sent once). The body is rendered when it is sent
    (rendering 100,000 templates inside the adjudication transaction would slow every chunk); a family
    whose principal has no e-mail address gets none. Returns how many were created.
    """
    if not decisions:
        return 0
    emails = dict(
        Member.objects.filter(id__in_ids=sorted({decision[3] for decision in decisions})).values_list("id", "email")
    )
    # One check per family address, not per claim (a family has many claims in a bulk chunk).
    problems = {
        family: notification_problem(recipient=email, subject="x", body="x")
        for family, email in emails.items()
        if email
    }
    rows = []  # (key, recipient, subject, claim id, status, error)
    for claim_id, number, status, family, round_ in decisions:
        recipient = emails.get(family) or ""
        if not recipient:
            continue
        problem = problems[family]
        subject = (CLAIM_SUBJECTS_CHANGED if round_ else CLAIM_SUBJECTS)[status].format(number=number)
        state = Notification.Status.REJECTED if problem else QUEUED
        key = f"claim-decision:{claim_id}:{round_}" if round_ else f"claim-decision:{claim_id}"
        rows.append((key, recipient, subject, claim_id, state, problem or ""))
    _insert_claim_notifications(rows)
    claim_ids = [row[3] for row in rows if row[4] == QUEUED]
    # robust: a broker that is down at this moment must not make the committed decisions look failed;
    # the rows stay queued and requeue_overdue_notifications publishes them later.
    transaction.on_commit(lambda: notifications_enqueue_for_claims(claim_ids=claim_ids), robust=True)
    return len(rows)


def _insert_claim_notifications(rows: list[tuple]) -> None:
    """Insert plain rows, skipping claims that already have their e-mail (decided again after a reset).

    Measured on PostgreSQL: `bulk_create` spent ~150 ms on 2,000 rows, a fifth of a bulk chunk's time;
    one `INSERT ... SELECT FROM unnest()` (core/db.py) takes a few milliseconds. The other fields
    (body, attachments, attempts, created_at...) get their model defaults there.
    """
    now = timezone.now()
    template = Notification.Template.CLAIM_DECISION
    insert_rows(
        Notification,
        ("idempotency_key", "recipient", "subject", "claim", "status", "last_error", "template", "next_attempt_at"),
        [(*row, template, now if row[4] == QUEUED else None) for row in rows],
        ignore_conflicts=True,
    )


def notifications_enqueue_for_claims(*, claim_ids: list[int]) -> None:
    ids = Notification.objects.filter(
        claim_id__in_ids=claim_ids, template=Notification.Template.CLAIM_DECISION, status=QUEUED
    ).values_list("id", flat=True)
    notifications_enqueue(ids=sorted(ids))


def notifications_enqueue(*, ids: list[int]) -> None:
    """Send these rows in batches of NOTIFICATION_BATCH_SIZE, each batch over one SMTP connection."""
    if not ids:
        return
    from backend.celery import app

    send_notification_batch = task_named("notifications.tasks.send_notification_batch")

    size = settings.NOTIFICATION_BATCH_SIZE
    with app.producer_or_acquire() as producer:
        for start in range(0, len(ids), size):
            send_notification_batch.apply_async((list(ids[start : start + size]),), producer=producer)


def notifications_resend(*, ids: Iterable[int]) -> tuple[int, int]:
    """Queue failed notifications again with fresh attempts (the admin's "send again"); (requeued, skipped).

    Sent ones are skipped (this is how a member gets one e-mail per claim), rejected ones too (their
    input is invalid; correct it first), and so are rows past NOTIFICATION_RETENTION_DAYS whose address
    and body the daily cleanup blanked (notifications/retention.py): there is nothing left to send.
    """
    ids = list(ids)
    with transaction.atomic():
        requeued = list(
            Notification.objects.select_for_update()
            .filter(id__in=ids, status=Notification.Status.FAILED)
            .exclude(recipient="")
            .values_list("id", flat=True)
        )
        Notification.objects.filter(id__in=requeued).update(
            status=QUEUED, attempts=0, lease_token="", lease_until=None, next_attempt_at=timezone.now()
        )
        transaction.on_commit(lambda: notifications_enqueue(ids=requeued))
    return len(requeued), len(ids) - len(requeued)


def notifications_requeue_overdue() -> int:
    """Enqueue again queued rows whose message was lost; how many.

    A message is lost when its publish failed (the broker down at commit) or the broker lost it (Redis
    restarted empty). Two rules find such rows without a marker per message:
    - the `default` queue holds no ready message, yet rows have been due for NOTIFICATION_RELAY_SECONDS
      and no sender holds them: nothing can carry them any more (beat runs this every minute, so they
      go out within about two minutes of the broker coming back);
    - rows NOTIFICATION_OVERDUE_SECONDS past due, whatever the queue holds (a queue that never empties).
    Safe to overdo: sending takes the row with a conditional update, so a row queued twice is sent once.
    """
    from core.queues import queue_depths

    now = timezone.now()
    after = settings.NOTIFICATION_OVERDUE_SECONDS
    try:
        if queue_depths(["default"])["default"] == 0:
            after = min(after, settings.NOTIFICATION_RELAY_SECONDS)
    except Exception as exc:  # the broker is down: nothing can be published now either
        logger.warning("Notification relay: broker unreachable (%s)", type(exc).__name__)
        return 0
    due = now - timedelta(seconds=after)
    ids = list(
        Notification.objects.filter(status=QUEUED, next_attempt_at__lt=due)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("id")
        .values_list("id", flat=True)[:100_000]
    )
    Notification.objects.filter(id__in_ids=ids).update(next_attempt_at=now)
    notifications_enqueue(ids=ids)
    if ids:
        logger.warning("Requeued %s notifications whose message was lost", len(ids))
    return len(ids)
