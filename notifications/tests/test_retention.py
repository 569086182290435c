"""NOTIFICATION_RETENTION_DAYS: finished e-mails lose their personal data after it; the row and its key stay."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from core.tasks import cleanup_expired_cache
from notifications.models import Notification
from notifications.retention import notifications_retention_apply
from notifications.services import notification_create, notifications_resend

pytestmark = pytest.mark.django_db

PERSONAL = ("recipient", "subject", "body", "html_body", "attachments", "last_error")


def email(key: str, *, status: str, days_old: float) -> Notification:
    row = notification_create(
        recipient=f"{key}@example.com",
        subject=f"Your claim {key}",
        body=f"Dear member {key}",
        html_body=f"<p>Dear member {key}</p>",
        attachments=[("claims.csv", "a,b\n", "text/csv")],
        idempotency_key=f"test:{key}",
        enqueue=False,
    )
    Notification.objects.filter(id=row.id).update(
        status=status,
        created_at=timezone.now() - timedelta(days=days_old),
        message_id=f"<{key}@medaid.localhost>",
        last_error="550 no such user <someone@example.com>" if status == "failed" else "",
    )
    return row


def blanked(row: Notification) -> bool:
    row.refresh_from_db()
    return all(not getattr(row, field) for field in PERSONAL)


def run(**kwargs) -> dict:
    return notifications_retention_apply(deadline=time.monotonic() + 60, **kwargs)


def test_finished_emails_past_the_retention_lose_their_personal_data_and_keep_their_row(settings):
    settings.NOTIFICATION_RETENTION_DAYS = 90
    settings.HYGIENE_BATCH_SIZE = 2  # several batches, each its own UPDATE
    old = [email(f"old-{status}", status=status, days_old=91) for status in ("sent", "failed", "rejected")]
    in_flight = email("old-queued", status="queued", days_old=91)
    recent = email("recent", status="sent", days_old=89)

    result = run()

    assert (result["blanked"], result["left"], result["complete"]) == (3, 0, True)
    assert all(blanked(row) for row in old)
    assert not blanked(in_flight) and not blanked(recent)
    kept = Notification.objects.get(id=old[0].id)
    assert (kept.idempotency_key, kept.status, kept.message_id) == (
        "test:old-sent",
        "sent",
        "<old-sent@medaid.localhost>",
    )
    assert Notification.objects.count() == 5

    # Why the row stays: its key still promises "one e-mail per key, ever".
    again = notification_create(
        recipient="old-sent@example.com", subject="s", body="b", idempotency_key="test:old-sent", enqueue=False
    )
    assert again.id == old[0].id and Notification.objects.count() == 5

    # A blanked failed e-mail cannot be sent again: there is no address left (the admin's "send again").
    assert notifications_resend(ids=[old[1].id]) == (0, 1)
    assert Notification.objects.get(id=old[1].id).status == "failed"


def test_the_next_days_run_passes_the_rows_already_blanked_and_blanks_the_new_ones(settings):
    settings.HYGIENE_BATCH_SIZE = 2
    first = [email(f"a{n}", status="sent", days_old=120) for n in range(5)]
    assert run()["blanked"] == 5
    later = [email(f"b{n}", status="sent", days_old=95) for n in range(3)]  # ids after the blanked ones
    live = email("c", status="sent", days_old=1)

    result = run()

    assert result["blanked"] == 3 and all(blanked(row) for row in first + later) and not blanked(live)
    assert run()["blanked"] == 0


def test_the_daily_cleanup_runs_the_retention_and_reports_counts_only(settings):
    settings.NOTIFICATION_RETENTION_DAYS = 30
    email("old", status="sent", days_old=31)
    result = cleanup_expired_cache()
    step = result["steps"]["notifications"]
    assert (step["blanked"], step["retention_days"], step["complete"]) == (1, 30, True)
    assert "example.com" not in str(result)  # a task result never carries an address
