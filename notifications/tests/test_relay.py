"""E-mails whose message was lost are published again within about a minute, not after half an hour (issue 8)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.celery import app
from core.queues import queue_depths
from notifications.models import Notification
from notifications.services import notification_create, notifications_requeue_overdue

pytestmark = pytest.mark.django_db(transaction=True)  # the broker must see what the test wrote


def queued_due(seconds_ago: int) -> Notification:
    row = notification_create(recipient="user@example.com", subject="Subject", body="Body", enqueue=False)
    Notification.objects.filter(id=row.id).update(next_attempt_at=timezone.now() - timedelta(seconds=seconds_ago))
    return row


@pytest.fixture
def empty_default_queue():
    app.control.purge()
    assert queue_depths(["default"])["default"] == 0
    yield
    app.control.purge()


def test_a_row_due_two_minutes_ago_with_nothing_queued_to_carry_it_is_published_again(empty_default_queue):
    lost, fresh = queued_due(120), queued_due(5)
    assert notifications_requeue_overdue() == 1
    lost.refresh_from_db()
    assert lost.next_attempt_at > timezone.now() - timedelta(seconds=30)
    assert queue_depths(["default"])["default"] == 1  # one batch message, carrying the lost row
    fresh.refresh_from_db()
    assert fresh.next_attempt_at < timezone.now()  # not touched: its own message may still be on the way


def test_while_the_queue_still_holds_messages_only_rows_long_overdue_are_published_again(empty_default_queue):
    app.send_task("notifications.tasks.send_notification_batch", args=([],), queue="default")
    waiting, overdue = queued_due(120), queued_due(3600)
    assert notifications_requeue_overdue() == 1
    overdue.refresh_from_db()
    waiting.refresh_from_db()
    assert overdue.next_attempt_at > timezone.now() - timedelta(seconds=30)
    assert waiting.next_attempt_at < timezone.now() - timedelta(seconds=60)


def test_a_row_a_sender_holds_is_left_alone(empty_default_queue):
    held = queued_due(120)
    Notification.objects.filter(id=held.id).update(lease_token="x", lease_until=timezone.now() + timedelta(minutes=5))
    assert notifications_requeue_overdue() == 0
