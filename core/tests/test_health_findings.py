"""What the health_check task finds beyond the platform: beat not running a task when due, a message
waiting too long, and the domain apps' findings (claims, bulk jobs, e-mails) registered with core."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from backend.celery import app
from core.health import check_beat, run_health_checks
from core.queues import queue_stats

pytestmark = pytest.mark.django_db


def periodic(name: str, *, last_run_at, every_minutes: int | None = None, hour: str | None = None, **fields):
    if every_minutes is not None:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every_minutes, period="minutes")
        schedule = {"interval": interval}
    else:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute="0", hour=hour, day_of_month="*", month_of_year="*", day_of_week="*", timezone="UTC"
        )
        schedule = {"crontab": crontab}
    task = PeriodicTask.objects.create(name=name, task=f"probe.{name}", **schedule, **fields)
    PeriodicTask.objects.filter(id=task.id).update(last_run_at=last_run_at)  # save() would keep it as beat does
    return task


@pytest.fixture
def only_these_periodic_tasks():
    PeriodicTask.objects.all().delete()


def test_a_missed_daily_report_is_a_beat_finding_naming_it(only_these_periodic_tasks):
    now = timezone.now()
    periodic("daily report", hour="6", last_run_at=now - timedelta(days=2))  # missed at least one 06:00
    periodic("sweep", every_minutes=1, last_run_at=now)  # on time
    periodic("cleanup", hour="3", last_run_at=now - timedelta(days=5), enabled=False)  # disabled: not watched
    summary = run_health_checks(ping_workers=False, only=["beat"])
    beat = summary["checks"]["beat"]
    assert summary["healthy"] is False and beat["status"] == "down"
    assert beat["error"].startswith("beat: 1 periodic task(s) did not run when due: daily report was due at ")
    assert "sweep" not in beat["error"] and "cleanup" not in beat["error"]


def test_a_task_late_by_less_than_the_grace_is_on_time(only_these_periodic_tasks, settings):
    settings.HEALTH_BEAT_GRACE_SECONDS = 600
    periodic("sweep", every_minutes=1, last_run_at=timezone.now() - timedelta(minutes=9))  # due 8 min ago
    assert check_beat() == {"summary": "1 periodic tasks on time", "tasks": 1}
    periodic("relay", every_minutes=1, last_run_at=timezone.now() - timedelta(minutes=12))  # due 11 min ago
    with pytest.raises(RuntimeError, match="relay was due at .* \\(11 min ago\\)"):
        check_beat()


def test_a_task_that_never_ran_counts_from_when_its_row_changed(only_these_periodic_tasks):
    task = periodic("new", every_minutes=5, last_run_at=None)
    assert check_beat()["tasks"] == 1  # installed just now: not due yet
    PeriodicTask.objects.filter(id=task.id).update(date_changed=timezone.now() - timedelta(hours=1))
    with pytest.raises(RuntimeError, match="new was due .* last ran never"):
        check_beat()


# queue_stats and the queues component, on whichever broker this run uses (django:// in runs 1 and 3,
# Redis in run 2). Transactional: on SQLite the django:// purge writes through the broker's own connection.
@pytest.mark.django_db(transaction=True)
def test_queue_stats_gives_the_age_of_the_oldest_ready_message(settings):
    app.control.purge()
    try:
        assert queue_stats(["reports"]) == {"reports": {"depth": 0, "oldest_age_seconds": None}}
        app.send_task("core.tests.probe_tasks.record", args=["x", "first"], queue="reports")
        time.sleep(1.0)
        app.send_task("core.tests.probe_tasks.record", args=["x", "second"], queue="reports", priority=9)
        stats = queue_stats(["reports", "cache"])
        assert stats["reports"]["depth"] == 2 and stats["cache"] == {"depth": 0, "oldest_age_seconds": None}
        assert 1.0 <= stats["reports"]["oldest_age_seconds"] < 30, stats  # the first one's age, not the second's
        settings.HEALTH_QUEUE_MAX_AGE_SECONDS = 0.5
        check = run_health_checks(ping_workers=False, only=["queues"])["checks"]["queues"]
        assert check["status"] == "down"
        assert "reports: the oldest of 2 ready message(s) has waited" in check["error"], check
    finally:
        app.control.purge()


# --- the domain apps' registered findings --------------------------------------------------------


def test_a_claim_pending_beyond_the_claim_window_is_a_finding(settings):
    from claims.tests.factories import ClaimFactory

    ClaimFactory(received_at=timezone.now() - timedelta(days=10))
    check = run_health_checks(ping_workers=False, only=["claims"])["checks"]["claims"]
    assert check["status"] == "up" and check["pending"] == 1
    settings.CLAIM_WINDOW_DAYS = 7
    check = run_health_checks(ping_workers=False, only=["claims"])["checks"]["claims"]
    assert check["status"] == "down"
    assert check["error"].startswith("1 claim(s) pending for longer than the 7-day claim window")


def test_a_running_bulk_job_without_progress_is_a_finding(settings):
    from claims.models import BulkClaimJob

    settings.BULK_JOB_STALL_SECONDS = 120
    moving = BulkClaimJob.objects.create(total=10, done=3, progress_at=timezone.now() - timedelta(seconds=100))
    BulkClaimJob.objects.create(status="completed", total=5, done=5, progress_at=timezone.now() - timedelta(days=1))
    assert run_health_checks(ping_workers=False, only=["bulk_jobs"])["checks"]["bulk_jobs"]["status"] == "up"
    BulkClaimJob.objects.filter(id=moving.id).update(progress_at=timezone.now() - timedelta(seconds=300))
    check = run_health_checks(ping_workers=False, only=["bulk_jobs"])["checks"]["bulk_jobs"]
    assert check["status"] == "down"
    assert f"job {moving.id}: 3 of 10 claims done, no progress for 300 s" in check["error"]


def test_failed_and_stuck_emails_are_findings_without_the_address():
    from notifications.models import Notification

    def check():
        return run_health_checks(ping_workers=False, only=["notifications"])["checks"]["notifications"]

    row = Notification.objects.create(
        idempotency_key="k1",
        recipient="member@example.com",
        subject="s",
        body="b",
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    assert check()["status"] == "up"  # queued, due later (a retry waiting its turn)
    Notification.objects.filter(id=row.id).update(next_attempt_at=timezone.now() - timedelta(hours=3))
    assert "1 e-mail(s) queued and over" in check()["error"]
    Notification.objects.filter(id=row.id).update(status="failed", next_attempt_at=None)
    found = check()
    assert found["error"].startswith("1 e-mail(s) failed in the last 24 hours")
    assert "member@" not in found["error"] and "example.com" not in found["error"]
    Notification.objects.filter(id=row.id).update(updated_at=timezone.now() - timedelta(days=2))
    assert check()["status"] == "up"  # failed before the last day: no longer a finding
