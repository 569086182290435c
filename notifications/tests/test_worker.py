"""send_notification_email and claim-decision e-mails through a real worker and a real SMTP server."""

import pytest
from celery.signals import before_task_publish
from django.conf import settings

from claims.demo import demo_data_seed
from claims.models import Claim
from conftest import wait_until
from core.tasks import process_bulk_claims, send_notification_email
from core.tests.test_broker_worker import short_lease_env
from notifications.models import Notification
from notifications.tasks import NotificationFailed
from notifications.tests.smtp import SmtpServer

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ADDRESS, BODY = "user@example.com", "Your claim has been approved."
FAST_RETRIES = {"NOTIFICATION_RETRY_BACKOFF": "0.5", "NOTIFICATION_RETRY_BACKOFF_MAX": "1"}


@pytest.fixture
def published():
    """The bodies of the task messages this process publishes (what the broker and Flower would show)."""
    bodies = []

    def keep(body=None, **kwargs):
        bodies.append(repr(body))

    before_task_publish.connect(keep, weak=False)
    yield bodies
    before_task_publish.disconnect(keep)


def stored_result(task_id: str) -> str:
    """The raw stored result of a task, as the results admin or another client would read it."""
    backend = send_notification_email.backend
    if settings.CELERY_RESULT_BACKEND.startswith("django-db"):
        from django_celery_results.models import TaskResult

        row = TaskResult.objects.get(task_id=task_id)
        return f"{row.task_args} {row.task_kwargs} {row.result}"
    return repr(backend.client.get(backend.get_key_for_task(task_id)))


def test_the_seeds_call_delivers_one_message_and_shows_no_personal_data(start_worker, smtp_server, published):
    worker = start_worker("mail", env=smtp_server.env)
    result = send_notification_email.delay(recipient_email=ADDRESS, subject="Claim Approved", message=BODY)
    summary = result.get(timeout=30)
    row = Notification.objects.get()
    assert summary == {"notification_id": row.id, "status": "sent", "recipient": "u***@example.com", "attempts": 1}
    (message,) = smtp_server.mailbox.messages()
    assert (message["To"], message["Subject"], message["From"]) == (
        ADDRESS,
        "Claim Approved",
        settings.DEFAULT_FROM_EMAIL,
    )
    assert message.get_content().strip() == BODY and message["Message-ID"] == row.message_id
    # The row holds the address and body; the message, the stored result and the worker log do not.
    assert published and all(ADDRESS not in body and BODY not in body for body in published)
    assert ADDRESS not in stored_result(result.id) and BODY not in stored_result(result.id)
    assert ADDRESS not in worker.log and BODY not in worker.log


def test_a_server_down_for_the_first_attempts_gets_the_email_exactly_once(start_worker):
    server = SmtpServer()  # not started yet: connections are refused
    start_worker("mail", env={**server.env, **FAST_RETRIES, "NOTIFICATION_MAX_ATTEMPTS": "30"})
    result = send_notification_email.delay(recipient_email=ADDRESS, subject="Claim Approved", message=BODY)
    wait_until(lambda: Notification.objects.filter(attempts__gte=2).exists(), 30, "two failed attempts")
    server.start()
    try:
        assert result.get(timeout=60)["status"] == "sent"
        assert server.mailbox.count == 1
        row = Notification.objects.get()
        assert row.attempts >= 3 and row.status == "sent" and row.last_error == ""
    finally:
        server.stop()


def test_a_5xx_reply_fails_without_retrying(start_worker, smtp_server):
    smtp_server.mailbox.reply = "554 5.7.1 message refused"
    start_worker("mail", env={**smtp_server.env, **FAST_RETRIES})
    result = send_notification_email.delay(recipient_email=ADDRESS, subject="Claim Approved", message=BODY)
    with pytest.raises(NotificationFailed, match="554"):
        result.get(timeout=30)
    row = Notification.objects.get()
    assert (row.status, row.attempts, smtp_server.mailbox.refused) == ("failed", 1, 1)


def test_a_worker_killed_after_the_send_but_before_the_ack_does_not_send_again(start_worker, smtp_server, tmp_path):
    marker = tmp_path / "killed"
    env = {**smtp_server.env, **short_lease_env()}
    first = start_worker(
        "doomed", env={**env, "TEST_KILL_AFTER_TASK": send_notification_email.name, "TEST_KILL_MARKER": str(marker)}
    )
    result = send_notification_email.delay(recipient_email=ADDRESS, subject="Claim Approved", message=BODY)
    wait_until(marker.exists, 30, "the worker sent the e-mail and was killed")
    first.wait_exit(10)
    assert smtp_server.mailbox.count == 1
    second = start_worker("heir", env=env)  # the message was not acknowledged: it is delivered again
    wait_until(lambda: f"[{result.id}] succeeded" in second.log, 60, "the redelivered task ran again")
    assert result.get(timeout=10)["status"] == "sent"
    assert smtp_server.mailbox.count == 1  # ...and did not send a second e-mail
    assert Notification.objects.get().attempts == 1


def test_a_bulk_job_of_2000_claims_sends_one_email_per_claim(start_worker, smtp_server):
    demo_data_seed(members=600, claims=2000, seed=5)
    ids = list(Claim.objects.values_list("id", flat=True))
    assert len(ids) == 2000
    start_worker("bulk", env=smtp_server.env, concurrency=2)
    summary = process_bulk_claims.delay(ids).get(timeout=120)
    assert summary["adjudicated"] == 2000
    # A pended claim (issue 13) is not decided yet: its e-mail goes when an assessor has decided it.
    decided = Claim.objects.exclude(status="pended")
    assert summary["pended"] == 2000 - decided.count() < 200
    wait_until(lambda: smtp_server.mailbox.count >= decided.count(), 120, "an e-mail per decided claim")
    wait_until(lambda: not Notification.objects.filter(status="queued").exists(), 30, "every row marked")
    numbers = sorted(message["Subject"].split()[2] for message in smtp_server.mailbox.messages())
    assert numbers == sorted(decided.values_list("claim_number", flat=True))  # one each, none twice
    assert Notification.objects.filter(status="sent").count() == decided.count()
    batches = 2000 // settings.NOTIFICATION_BATCH_SIZE
    assert smtp_server.mailbox.connections <= (batches + 5) * settings.NOTIFICATION_SMTP_CONNECTIONS  # not one each
