"""How long an e-mail's personal data is kept: NOTIFICATION_RETENTION_DAYS, then the daily cleanup blanks it.

Blanked, not deleted: the row keeps what is not personal (status, template, claim, attempts, Message-ID,
timestamps) and above all its idempotency key, which promises "one e-mail per key, ever": deleting the
row of `claim-decision:<claim id>` would let a claim decided again (after a reset) e-mail its member a
second time. Counts by status and day (reports, /metrics) stay right too. What goes is everything that
names or describes a person: address, subject, bodies, attachments, and the last error (an SMTP reply
may quote the address). Sent, failed and rejected rows alike, counted from when the row was created;
queued rows are still in flight and are left alone.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.hygiene import walk_in_batches
from notifications.models import Notification

FINISHED = (Notification.Status.SENT, Notification.Status.FAILED, Notification.Status.REJECTED)
BLANK = {"recipient": "", "subject": "", "body": "", "html_body": "", "attachments": [], "last_error": ""}
_NOT_BLANK = Q(recipient__gt="") | Q(subject__gt="") | Q(body__gt="") | Q(html_body__gt="") | Q(last_error__gt="")


def _past_retention(now=None) -> Q:
    return Q(created_at__lt=(now or timezone.now()) - timedelta(days=settings.NOTIFICATION_RETENTION_DAYS))


def notifications_past_retention(*, now=None):
    """Finished e-mails older than the retention that still hold personal data."""
    return Notification.objects.filter(_NOT_BLANK, _past_retention(now), status__in=FINISHED)


def notifications_retention_apply(*, deadline: float) -> dict:
    """Blank the personal fields of e-mails past the retention, HYGIENE_BATCH_SIZE rows per UPDATE.

    The walk starts at the oldest row every day and passes the rows blanked on earlier days range by
    range on the primary key (an UPDATE that matches nothing), with no index or bookkeeping column.
    """
    result = walk_in_batches(
        notifications_past_retention(), lambda batch: batch.update(**BLANK), old=_past_retention(), deadline=deadline
    )
    result["blanked"] = result.pop("done")
    result["retention_days"] = settings.NOTIFICATION_RETENTION_DAYS
    return result
