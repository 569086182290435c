"""Notifications in-process against a real SMTP server on localhost: input, delivery, failures, claims."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from claims.adjudication.engine import adjudicate_claims
from claims.models import BenefitLedger, Claim
from claims.tests.factories import ClaimFactory, DependantFactory, MemberFactory
from core.tasks import send_notification_email
from notifications.models import Notification
from notifications.privacy import NotificationRejected, mask_email, mask_emails_in
from notifications.sending import lease_token_for, notifications_send, retry_countdown
from notifications.services import (
    notification_create,
    notifications_requeue_overdue,
    notifications_resend,
)

pytestmark = pytest.mark.django_db

QUEUED, SENT, FAILED, REJECTED = "queued", "sent", "failed", "rejected"


def queued(n: int = 1, **fields) -> list[Notification]:
    return [
        notification_create(
            recipient=f"user{i}@example.com", subject=f"Subject {i}", body=f"Body {i}", enqueue=False, **fields
        )
        for i in range(n)
    ]


def test_it_masks_addresses_wherever_they_appear():
    assert mask_email("user@example.com") == "u***@example.com"
    assert mask_email("not-an-address") == "***"
    assert (
        mask_emails_in("550 5.1.1 <john.doe@example.org>: no such user") == "550 5.1.1 <j***@example.org>: no such user"
    )


@pytest.mark.parametrize(
    ("recipient", "subject", "message", "reason"),
    [
        ("not-an-address", "Claim Approved", "ok", "recipient is not a valid e-mail address"),
        ("user@example.com\r\nBcc: all@example.com", "Hi", "ok", "recipient is not a valid e-mail address"),
        ("user@example.com", "Claim Approved\r\nBcc: victim@example.com", "ok", "header injection"),
        ("user@example.com", "Line\nbreak", "ok", "header injection"),
        ("user@example.com", "   ", "ok", "subject is empty"),
        ("user@example.com", "x" * 256, "ok", "subject is longer than 255"),
        ("user@example.com", "Hi", "", "message is empty"),
        ("user@example.com", "Hi", "x" * (256 * 1024 + 1), "message is larger than"),
        ("user@example.com", None, "ok", "must be text"),
        # Every control character is refused at the call, never in the worker (issue 10).
        ("user@example.com", "Claim\vApproved", "ok", "subject contains a control character"),
        ("user@example.com", "Claim\tApproved", "ok", "subject contains a control character"),
        ("user@example.com", "Claim\u2028Approved", "ok", "subject contains a control character"),
        ("user\x00@example.com", "Hi", "ok", "recipient is not a valid e-mail address"),
        ("user@exam\x7fple.com", "Hi", "ok", "recipient is not a valid e-mail address"),
        ("user@example.com", "Hi", "Body with a \x00 in it", "message contains a NUL character"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_kept_as_rejected(
    smtp_settings, smtp_server, recipient, subject, message, reason
):
    with pytest.raises(NotificationRejected, match=reason):
        send_notification_email.delay(recipient_email=recipient, subject=subject, message=message)
    row = Notification.objects.get()
    assert row.status == REJECTED and reason in row.last_error and row.attempts == 0
    assert notifications_send(ids=[row.id]).skipped == [row.id]
    assert smtp_server.mailbox.count == 0


def test_a_queued_email_goes_out_once_with_the_right_headers(smtp_settings, smtp_server):
    (row,) = queued(1)
    report = notifications_send(ids=[row.id])
    assert report.sent == [row.id]
    (message,) = smtp_server.mailbox.messages()
    assert message["To"] == "user0@example.com" and message["Subject"] == "Subject 0"
    assert message["From"] == smtp_settings.DEFAULT_FROM_EMAIL
    assert message["Message-ID"].startswith(f"<notification-{row.id}.")
    assert message.get_content().strip() == "Body 0"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.message_id) == (SENT, 1, message["Message-ID"])
    assert notifications_send(ids=[row.id]).skipped == [row.id]  # a second delivery of the task sends nothing
    assert smtp_server.mailbox.count == 1


def test_a_batch_shares_one_smtp_connection(smtp_settings, smtp_server):
    rows = queued(25)
    assert len(notifications_send(ids=[r.id for r in rows]).sent) == 25
    assert smtp_server.mailbox.count == 25 and smtp_server.mailbox.connections == 1


@pytest.mark.django_db(transaction=True)  # each lane has its own database connection: it must see the rows
def test_a_big_batch_is_sent_over_a_few_connections_side_by_side_each_email_once(smtp_settings, smtp_server):
    smtp_settings.NOTIFICATION_SMTP_CONNECTIONS = 4
    rows = queued(120)
    report = notifications_send(ids=[r.id for r in rows])
    assert sorted(report.sent) == sorted(r.id for r in rows) and not report.retry
    subjects = sorted(message["Subject"] for message in smtp_server.mailbox.messages())
    assert subjects == sorted(f"Subject {i}" for i in range(120))  # every one, none twice
    assert smtp_server.mailbox.connections == 4
    assert set(Notification.objects.values_list("status", "attempts", "lease_token")) == {(SENT, 1, "")}


def test_a_permanent_refusal_fails_at_once_and_keeps_the_error(smtp_settings, smtp_server):
    smtp_server.mailbox.reply = "550 5.1.1 <user0@example.com>: mailbox unavailable"
    (row,) = queued(1)
    report = notifications_send(ids=[row.id])
    assert report.failed == [row.id] and not report.retry
    row.refresh_from_db()
    assert (row.status, row.attempts) == (FAILED, 1)
    assert "550" in row.last_error and "u***@example.com" in row.last_error and "user0@" not in row.last_error


def test_a_4xx_reply_is_retried_later(smtp_settings, smtp_server):
    smtp_server.mailbox.reply = "451 4.3.0 try again later"
    (row,) = queued(1)
    report = notifications_send(ids=[row.id])
    assert report.retry == [row.id] and report.countdown > 0
    row.refresh_from_db()
    assert (row.status, row.attempts, row.lease_token) == (QUEUED, 1, "")
    assert row.next_attempt_at > timezone.now()


def test_a_server_that_is_down_is_retried_until_the_attempts_run_out(smtp_settings, smtp_server):
    smtp_settings.NOTIFICATION_MAX_ATTEMPTS = 3
    smtp_server.stop()
    rows = queued(2)
    ids = [r.id for r in rows]
    for attempt in (1, 2):
        report = notifications_send(ids=ids)
        assert sorted(report.retry) == ids and "ConnectionRefusedError" in report.error
        assert set(Notification.objects.values_list("attempts", flat=True)) == {attempt}
    assert sorted(notifications_send(ids=ids).failed) == ids
    assert set(Notification.objects.values_list("status", flat=True)) == {FAILED}


def test_backoff_grows_exponentially_with_jitter(settings):
    settings.NOTIFICATION_RETRY_BACKOFF, settings.NOTIFICATION_RETRY_BACKOFF_MAX = 10, 60
    for attempts, step in ((1, 10), (2, 20), (3, 40), (4, 60), (9, 60)):
        delays = {retry_countdown(attempts) for _ in range(20)}
        assert all(step / 2 <= d <= step for d in delays) and len(delays) > 1


def test_a_row_held_by_another_sender_is_not_sent(smtp_settings, smtp_server):
    (row,) = queued(1)
    Notification.objects.filter(id=row.id).update(
        lease_token="other", lease_until=timezone.now() + timedelta(minutes=5)
    )
    assert notifications_send(ids=[row.id]).skipped == [row.id]
    Notification.objects.filter(id=row.id).update(lease_until=timezone.now() - timedelta(seconds=1))  # it crashed
    assert notifications_send(ids=[row.id]).sent == [row.id]
    assert smtp_server.mailbox.count == 1


def test_the_next_try_of_the_sender_that_held_a_row_takes_it_back_at_once(smtp_settings, smtp_server):
    # A try that lost its database mid-batch could not give its rows back; its retry (same task id) takes them.
    (row,) = queued(1)
    task_id = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
    held = timezone.now() + timedelta(minutes=5)
    Notification.objects.filter(id=row.id).update(lease_token=lease_token_for(task_id), lease_until=held)
    assert notifications_send(ids=[row.id], holder="another-task").skipped == [row.id]
    assert notifications_send(ids=[row.id], holder=task_id).sent == [row.id]
    assert smtp_server.mailbox.count == 1


def test_the_same_idempotency_key_gives_one_email():
    first = notification_create(recipient="a@example.com", subject="S", body="B", idempotency_key="k1", enqueue=False)
    again = notification_create(recipient="a@example.com", subject="S", body="B", idempotency_key="k1", enqueue=False)
    assert first.id == again.id and Notification.objects.count() == 1


def test_send_again_requeues_failed_ones_only():
    failed, sent, rejected = queued(3)
    Notification.objects.filter(id=failed.id).update(status=FAILED, attempts=6, last_error="boom")
    Notification.objects.filter(id=sent.id).update(status=SENT)
    Notification.objects.filter(id=rejected.id).update(status=REJECTED)
    assert notifications_resend(ids=[failed.id, sent.id, rejected.id]) == (1, 2)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (QUEUED, 0)


def test_queued_emails_long_past_due_are_enqueued_again(settings):
    late, fresh = queued(2)
    Notification.objects.filter(id=late.id).update(next_attempt_at=timezone.now() - timedelta(hours=2))
    assert notifications_requeue_overdue() == 1
    late.refresh_from_db()
    assert late.next_attempt_at > timezone.now() - timedelta(minutes=1)


def decided_family_claims():
    principal = MemberFactory()
    child = DependantFactory(principal=principal)
    return principal, [ClaimFactory(member=member) for member in (principal, child)]


def test_each_decided_claim_notifies_the_principal_member_in_plain_words(smtp_settings, smtp_server):
    principal, claims = decided_family_claims()
    adjudicate_claims([c.id for c in claims])
    rows = list(Notification.objects.order_by("claim_id"))
    assert [r.claim_id for r in rows] == [c.id for c in claims]
    assert {r.recipient for r in rows} == {principal.email}
    assert all(r.template == "claim_decision" and r.status == QUEUED for r in rows)
    notifications_send(ids=[r.id for r in rows])
    messages = smtp_server.mailbox.messages()
    assert len(messages) == 2 and smtp_server.mailbox.connections == 1
    for claim, message in zip(claims, sorted(messages, key=lambda m: m["Subject"]), strict=True):
        claim.refresh_from_db()
        assert claim.claim_number in message["Subject"]
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert f"R {claim.total_benefit}" in text and f"R {claim.total_benefit}" in html
        assert principal.first_name in text
    row = Notification.objects.get(claim=claims[0])
    assert row.status == SENT and claims[0].claim_number in row.body  # the text sent is kept on the row


def test_a_rejected_claim_email_says_why_in_plain_words(smtp_settings, smtp_server):
    principal, claims = decided_family_claims()
    claim = claims[0]
    claim.practice_number = "0000000"  # not registered
    claim.save()
    adjudicate_claims([claim.id])
    notifications_send(ids=list(Notification.objects.values_list("id", flat=True)))
    (message,) = smtp_server.mailbox.messages()
    assert "rejected" in message["Subject"]
    assert "The practice number is not registered with the scheme." in message.get_body(("plain",)).get_content()


def test_a_decision_rolled_back_sends_nothing():
    _, claims = decided_family_claims()
    with pytest.raises(RuntimeError), transaction.atomic():
        adjudicate_claims([c.id for c in claims])
        assert Notification.objects.count() == 2
        raise RuntimeError("the transaction fails after the decision")
    assert Notification.objects.count() == 0


def test_deciding_a_claim_again_does_not_email_twice():
    _, claims = decided_family_claims()
    adjudicate_claims([c.id for c in claims])
    BenefitLedger.objects.filter(claim_line__claim=claims[0]).delete()  # an admin undoes the decision
    Claim.objects.filter(id=claims[0].id).update(status="pending")
    adjudicate_claims([claims[0].id])
    assert Notification.objects.filter(claim=claims[0]).count() == 1


def test_without_an_smtp_host_emails_are_written_to_files_a_user_can_read(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    rows = queued(3)
    assert len(notifications_send(ids=[r.id for r in rows]).sent) == 3
    (written,) = tmp_path.iterdir()  # one file per batch
    text = written.read_text()
    assert all(f"Subject: Subject {i}" in text and f"Body {i}" in text for i in range(3))


def test_an_unknown_argument_fails_at_the_call_not_in_the_worker():
    with pytest.raises(TypeError, match="unexpected arguments: cc"):
        send_notification_email.delay(recipient_email="a@example.com", subject="S", message="M", cc="b@example.com")
    with pytest.raises(TypeError, match="at most 3 positional"):
        send_notification_email.delay("a@example.com", "S", "M", "extra")
    assert not Notification.objects.exists()


def test_bad_input_reaching_the_task_by_name_is_rejected_without_a_retry(smtp_settings, smtp_server):
    # Another producer may publish the seed's arguments by task name: the worker checks them itself.
    result = send_notification_email.apply(kwargs={"recipient_email": "x@y", "subject": "S", "message": "M"})
    assert result.failed() and isinstance(result.result, NotificationRejected)
    assert result.result.args == ("recipient is not a valid e-mail address",)
    row = Notification.objects.get()
    assert (row.status, row.attempts) == (REJECTED, 0) and smtp_server.mailbox.count == 0


def test_the_task_called_in_process_sends_at_once(smtp_settings, smtp_server):
    summary = send_notification_email(recipient_email="user@example.com", subject="Claim Approved", message="Hi")
    assert summary["status"] == "sent" and summary["recipient"] == "u***@example.com"
    assert smtp_server.mailbox.count == 1
