"""/metrics: Prometheus text after a known workload, no personal data in it, and only for a token or staff."""

import os
import re
import time

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from claims.demo import demo_data_seed
from claims.models import Claim
from conftest import broker_kind, wait_until
from core import models as core_models
from core.metrics.models import TaskStat
from core.tasks import process_bulk_claims, send_notification_email
from core.tests.probe_tasks import record
from members.models import Member
from notifications.models import Notification
from notifications.tests.smtp import SmtpServer

TOKEN = "metrics-test-token"  # a test value
EMAILS = ("thandi.metrics@example.org", "pieter.metrics@example.net")


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value}: parsing it is also the check that the text format is valid."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(parsed: dict, name: str, **labels) -> float:
    return parsed[name, frozenset(labels.items())]


@pytest.mark.django_db
def test_metrics_are_refused_without_a_token_or_a_staff_login(client, settings):
    settings.METRICS_TOKEN = TOKEN
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Token {TOKEN}"}).status_code == 401  # not our scheme

    client.force_login(User.objects.create_user("clerk", password="x"))
    assert client.get("/metrics").status_code == 403  # logged in, not staff

    client.force_login(User.objects.create_user("ops", password="x", is_staff=True))
    staff = client.get("/metrics")
    assert staff.status_code == 200 and staff["Content-Type"].startswith("text/plain; version=")
    client.logout()
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.django_db
def test_an_empty_token_setting_lets_no_bearer_in(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


@pytest.mark.django_db
def test_a_waiting_message_shows_in_its_queues_depth_and_age(client, settings):
    """A queue nobody consumes (this test's own, so no other test's leftovers count): one message, aged."""
    from backend.celery import app

    queue = f"metrics-test-{os.getpid()}"
    settings.TASK_QUEUE_NAMES = (*settings.TASK_QUEUE_NAMES, queue)
    settings.METRICS_TOKEN = TOKEN
    try:
        record.apply_async(("/nonexistent", "waiting"), queue=queue)
        time.sleep(0.2)
        parsed = samples(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode())
    finally:
        if broker_kind() != "django":  # django:// rows roll back with the test's transaction
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge(queue)
    assert value(parsed, "medaid_queue_messages", queue=queue) == 1
    assert 0.2 <= value(parsed, "medaid_queue_oldest_message_age_seconds", queue=queue) < 30


@pytest.mark.django_db
def test_health_comes_from_the_last_stored_health_check_run(client, settings):
    run_model = getattr(core_models, "HealthCheckRun", None)
    if run_model is None:
        pytest.skip("core.models.HealthCheckRun is not there yet (issue 11's health part)")
    settings.METRICS_TOKEN = TOKEN
    now = timezone.now()
    components = {
        "database": {"ok": True, "latency_ms": 1.5, "detail": ""},
        "broker": {"ok": False, "latency_ms": 3000.0, "detail": "ConnectionError: refused"},
    }
    run_model.objects.create(
        started_at=now, finished_at=now, duration_ms=3001.5, status="unhealthy", components=components
    )
    parsed = samples(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode())
    assert value(parsed, "medaid_health_component_up", component="database") == 1
    assert value(parsed, "medaid_health_component_up", component="broker") == 0
    assert value(parsed, "medaid_health_component_latency_seconds", component="broker") == 3.0
    assert value(parsed, "medaid_healthy") == 0
    assert value(parsed, "medaid_health_checked_timestamp_seconds") == pytest.approx(now.timestamp())
    assert "disk" not in {dict(labels).get("component") for _, labels in parsed}  # the stored run, not a fresh one


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_metrics_after_a_bulk_job_and_two_emails_show_the_numbers_and_no_personal_data(start_worker, client, settings):
    settings.METRICS_TOKEN = TOKEN
    smtp = SmtpServer().start()
    try:
        start_worker("metrics", env=smtp.env)
        demo_data_seed(members=12, claims=30, seed=11)
        ids = list(Claim.objects.values_list("id", flat=True))
        summary = process_bulk_claims(ids)  # the seed's direct call: decides every claim before it returns
        for address in EMAILS:
            send_notification_email.delay(recipient_email=address, subject="Claim update", message="See the portal.")
        # The worker sends the two e-mails and the claim-decision e-mails the job queued.
        wait_until(lambda: not Notification.objects.filter(status="queued").exists(), 60, "e-mails still queued")
        sent = Notification.objects.filter(status="sent").count()
        wait_until(lambda: smtp.mailbox.count == sent, 30, "the SMTP server did not receive every sent e-mail")
        emails_counted = TaskStat.objects.filter(task_name="core.tasks.send_notification_email", state="SUCCESS")
        wait_until(lambda: sum(emails_counted.values_list("count", flat=True)) == 2, 15, "task counts not written")
    finally:
        smtp.stop()

    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    text = response.content.decode()
    parsed = samples(text)

    assert summary["status"] == "completed" and summary["adjudicated"] == 30
    for status in ("approved", "partially_approved", "rejected"):
        assert value(parsed, "medaid_claims", status=status) == summary[status]
    assert value(parsed, "medaid_claims", status="pending") == 0
    job = str(summary["job_id"])
    assert value(parsed, "medaid_bulk_jobs", status="completed") == 1
    assert value(parsed, "medaid_bulk_job_status", job=job, status="completed") == 1
    assert value(parsed, "medaid_bulk_job_claims", job=job, kind="done") == 30
    assert value(parsed, "medaid_bulk_job_claims", job=job, kind="rejected") == summary["rejected"]
    assert value(parsed, "medaid_bulk_job_progress_ratio", job=job) == 1.0

    assert sent == smtp.mailbox.count >= 3  # the two e-mails and at least one claim decision
    assert value(parsed, "medaid_notifications", status="sent") == sent
    assert value(parsed, "medaid_notifications", status="queued") == 0

    task = "core.tasks.send_notification_email"
    assert value(parsed, "medaid_celery_tasks_total", task=task, state="SUCCESS") == 2
    assert value(parsed, "medaid_celery_task_runtime_seconds_count", task=task, state="SUCCESS") == 2
    assert value(parsed, "medaid_celery_task_runtime_seconds_bucket", task=task, state="SUCCESS", le="+Inf") == 2
    assert 0 < value(parsed, "medaid_celery_task_runtime_seconds_sum", task=task, state="SUCCESS") < 60

    for queue in settings.TASK_QUEUE_NAMES:
        assert value(parsed, "medaid_queue_messages", queue=queue) == 0  # the worker took everything
        assert value(parsed, "medaid_queue_oldest_message_age_seconds", queue=queue) == 0
    assert value(parsed, "medaid_health_component_up", component="database") == 1
    sections = {
        dict(labels)["section"]: v for (name, labels), v in parsed.items() if name == "medaid_metrics_section_up"
    }
    assert sections == dict.fromkeys(("tasks", "queues", "bulk_jobs", "claims", "notifications", "health"), 1)

    # No personal data: no member's name or address, nor the two e-mail addresses, anywhere in the text.
    people = Member.objects.values_list("first_name", "last_name", "email")
    words = {word for first, last, _ in people for word in (first, last)}
    addresses = {email for *_, email in people if email} | set(EMAILS)
    assert addresses and words
    assert "@" not in text
    found = [word for word in words if re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE)]
    assert not found, f"member names in /metrics: {found}"


@pytest.mark.django_db
def test_the_recorder_adds_counts_and_runtimes_to_the_rows_the_workers_share(client, settings):
    """What each worker process does after its tasks end: two processes' counts add up, per state and bucket."""
    from core.metrics.recorder import TaskRecorder, bucket_for

    assert (bucket_for(0.01), bucket_for(0.05), bucket_for(0.3), bucket_for(299), bucket_for(301)) == (
        "0.05",
        "0.05",
        "0.5",
        "300.0",
        "+Inf",
    )
    first, second = TaskRecorder(), TaskRecorder()
    for recorder, task_id, state in ((first, "a", "SUCCESS"), (first, "b", "FAILURE"), (second, "c", "SUCCESS")):
        recorder.started(task_id)
        recorder.ended(task_id, "core.tasks.health_check", state)
    second.ended("never-started", "core.tasks.health_check", "SUCCESS")  # no prerun seen here: not counted
    first.flush()
    second.flush()
    first.flush()  # nothing left: adds nothing
    settings.METRICS_TOKEN = TOKEN
    parsed = samples(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode())
    task = "core.tasks.health_check"
    assert value(parsed, "medaid_celery_tasks_total", task=task, state="SUCCESS") == 2
    assert value(parsed, "medaid_celery_tasks_total", task=task, state="FAILURE") == 1
    assert value(parsed, "medaid_celery_task_runtime_seconds_bucket", task=task, state="SUCCESS", le="0.05") == 2
    assert value(parsed, "medaid_celery_task_runtime_seconds_bucket", task=task, state="SUCCESS", le="+Inf") == 2
    assert 0 <= value(parsed, "medaid_celery_task_runtime_seconds_sum", task=task, state="SUCCESS") < 0.1
