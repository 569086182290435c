"""Stored health runs: one alert e-mail per change of state (through the outbox), retention, the admin."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from backend.celery import app
from core.health import health_run_store, health_runs_prune, run_health_checks
from core.models import HealthCheckRun
from notifications.models import Notification

pytestmark = pytest.mark.django_db

ADMINS = [("Ops", "ops@example.com"), ("On call", "oncall@example.com")]
ONLY = ["database", "disk"]  # enough to turn the state; the full set is tested in test_health_findings


def check(settings, *, disk_ok: bool):
    settings.HEALTH_MIN_FREE_DISK_MB = 0 if disk_ok else 10**12
    return run_health_checks(ping_workers=False, only=ONLY, store=True)


def test_one_alert_when_it_turns_unhealthy_none_while_it_stays_so_and_one_when_it_recovers(settings):
    settings.ADMINS = ADMINS
    check(settings, disk_ok=True)
    assert Notification.objects.count() == 0  # healthy from the start: nothing to say

    summary = check(settings, disk_ok=False)
    down = HealthCheckRun.objects.get(id=summary["run_id"])
    assert (down.status, down.alert, down.down) == ("unhealthy", "down", ["disk"])
    alerts = list(Notification.objects.order_by("recipient"))
    assert [n.recipient for n in alerts] == ["oncall@example.com", "ops@example.com"]
    assert {n.subject for n in alerts} == {"Health: unhealthy - disk down"}
    assert "- disk: " in alerts[0].body and "below the" in alerts[0].body
    assert "@" not in alerts[0].body  # names what is down, nobody's data

    for _ in range(2):
        assert check(settings, disk_ok=False)["healthy"] is False
    assert Notification.objects.count() == 2  # still unhealthy: nothing more

    summary = check(settings, disk_ok=True)
    assert HealthCheckRun.objects.get(id=summary["run_id"]).alert == "recovered"
    recovered = Notification.objects.filter(subject="Health: recovered - every component is up")
    assert recovered.count() == 2
    check(settings, disk_ok=True)
    assert Notification.objects.count() == 4
    assert list(HealthCheckRun.objects.order_by("id").values_list("alert", flat=True)) == [
        "",
        "down",
        "",
        "",
        "recovered",
        "",
    ]


def test_after_a_gap_without_runs_the_next_run_says_checks_had_stopped(settings):
    settings.ADMINS, settings.HEALTH_RUN_GAP_SECONDS = ADMINS[:1], 900
    check(settings, disk_ok=True)
    HealthCheckRun.objects.update(started_at=timezone.now() - timedelta(minutes=40))  # beat or the database away
    summary = check(settings, disk_ok=True)
    assert HealthCheckRun.objects.get(id=summary["run_id"]).alert == "resumed"
    (note,) = Notification.objects.all()
    assert note.subject == "Health: checks resumed after 40 min without one"
    assert "No health check was stored between " in note.body
    check(settings, disk_ok=True)
    assert Notification.objects.count() == 1  # runs every few minutes again: nothing to say
    HealthCheckRun.objects.update(started_at=timezone.now() - timedelta(minutes=40))
    check(settings, disk_ok=False)  # a gap that ends unhealthy: the one "down" e-mail mentions the gap
    down = Notification.objects.latest("id")
    assert down.subject == "Health: unhealthy - disk down" and "No health check was stored" in down.body


def test_the_stored_components_have_the_keys_metrics_reads(settings):
    run = HealthCheckRun.objects.get(id=check(settings, disk_ok=True)["run_id"])
    assert set(run.components) == set(ONLY)
    for component in run.components.values():
        assert set(component) == {"ok", "latency_ms", "detail"}
        assert component["ok"] is True and isinstance(component["latency_ms"], float)
    assert run.status == "healthy" and run.finished_at >= run.started_at and run.duration_ms >= 0


@pytest.mark.django_db(transaction=True)  # the task pings workers through django://'s own connection
def test_only_the_health_check_task_stores_by_default():
    run_health_checks(ping_workers=False, only=ONLY)
    assert HealthCheckRun.objects.count() == 0
    from core.tasks import health_check

    assert "run_id" in health_check()  # the task, called directly as the seed shows
    assert HealthCheckRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_that_see_the_system_turn_unhealthy_alert_once(settings):
    settings.ADMINS = ADMINS[:1]
    healthy = {"healthy": True, "checks": {"disk": {"status": "up", "latency_ms": 1.0}}}
    unhealthy = {"healthy": False, "checks": {"disk": {"status": "down", "latency_ms": 1.0, "error": "full"}}}
    health_run_store(healthy, started_at=timezone.now(), duration_ms=1)
    start, errors = threading.Barrier(4), []

    def store():
        try:
            start.wait()
            health_run_store(unhealthy, started_at=timezone.now(), duration_ms=1)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=store) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        app.control.purge()  # the alert's message: no worker here to take it
    assert not errors
    alerts = list(HealthCheckRun.objects.order_by("id").values_list("alert", flat=True))
    assert alerts == ["", "down", "", "", ""]
    assert Notification.objects.count() == 1


def test_prune_deletes_runs_past_the_retention_in_batches_and_keeps_the_newest(settings):
    settings.HEALTH_RUN_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    for started in [old] * 5 + [timezone.now()] * 2 + [old]:
        HealthCheckRun.objects.create(started_at=started, finished_at=started, duration_ms=1, status="healthy")
    newest = HealthCheckRun.objects.order_by("-id").first()
    assert health_runs_prune(batch_size=2) == 5
    assert HealthCheckRun.objects.count() == 3 and HealthCheckRun.objects.filter(id=newest.id).exists()
    assert health_runs_prune() == 0


def test_the_admin_lists_runs_read_only(client, settings):
    staff = get_user_model().objects.create_superuser("ops", password="x")
    client.force_login(staff)
    run = HealthCheckRun.objects.get(id=check(settings, disk_ok=False)["run_id"])
    listing = client.get("/admin/core/healthcheckrun/")
    assert listing.status_code == 200 and b"unhealthy" in listing.content.lower()
    page = client.get(f"/admin/core/healthcheckrun/{run.id}/change/")
    assert page.status_code == 200 and b"DOWN" in page.content and b"<b>disk</b>" in page.content
    assert client.get("/admin/core/healthcheckrun/add/").status_code == 403
    assert client.post(f"/admin/core/healthcheckrun/{run.id}/delete/").status_code == 403


def test_the_operator_and_the_auditor_read_the_runs(client, role_user):
    for role in ("operator", "auditor", "member services"):
        client.force_login(role_user(role, staff=True))
        expected = 403 if role == "member services" else 200
        assert client.get("/admin/core/healthcheckrun/").status_code == expected, role
