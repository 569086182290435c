"""The admin home page as the operations dashboard (backend/dashboard.py), in the test client and a browser."""

from __future__ import annotations

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from claims.demo import demo_data_seed
from claims.models import BulkClaimJob, Claim
from conftest import wait_until
from core.models import HealthCheckRun
from notifications.models import Notification
from notifications.services import notification_create


def _health_run(status="unhealthy") -> HealthCheckRun:
    now = timezone.now()
    return HealthCheckRun.objects.create(
        started_at=now,
        finished_at=now,
        duration_ms=12.0,
        status=status,
        components={
            "database": {"ok": True, "latency_ms": 3.0, "detail": ""},
            "broker": {"ok": False, "latency_ms": 1000.0, "detail": "connection refused"},
        },
    )


@pytest.mark.django_db
def test_the_admin_home_shows_the_operations_dashboard_without_personal_data(admin_client):
    demo_data_seed(members=6, claims=8, seed=3)
    Claim.objects.filter(id__in=Claim.objects.values("id")[:3]).update(status="rejected", decided_at=timezone.now())
    failed = notification_create(recipient="thandi.secret@example.org", subject="Claim X", body="B", enqueue=False)
    Notification.objects.filter(id=failed.id).update(status="failed")
    run = _health_run()
    BulkClaimJob.objects.create(total=200, done=50, chunks_total=4, chunks_done=1)

    page = admin_client.get("/admin/").content.decode()
    for heading in (
        "Queues",
        "Workers answering",
        "Last health check",
        "Claims decided today",
        "Running bulk jobs",
        "Needs attention",
    ):
        assert heading in page
    assert f"/admin/core/healthcheckrun/{run.id}/change/" in page and "unhealthy" in page
    assert '<progress max="100" value="25">' in page and "25% (50/200)" in page
    assert "<td>Rejected</td><td>3</td>" in page
    assert "Failed e-mails" in page and "thandi.secret" not in page
    assert "Site administration" in page  # the app list is still there, below
    assert "asking…" in page  # workers are asked by the page's script, not while rendering


@pytest.mark.django_db(transaction=True)  # the worker ping uses the broker's own connection (SQLite: no held lock)
def test_the_live_part_is_json_for_staff_only(admin_client, client, django_user_model, settings):
    live = admin_client.get("/admin/dashboard.json").json()
    assert set(live) == {"queues", "queues_error", "workers", "bulk_jobs", "at"}
    assert [queue["name"] for queue in live["queues"]] == sorted(settings.TASK_QUEUE_NAMES)
    assert live["queues_error"] == "" and live["workers"] == []  # no worker runs in this test
    assert client.get("/admin/dashboard.json").status_code == 302  # to the login page
    client.force_login(django_user_model.objects.create_user("member"))
    assert client.get("/admin/dashboard.json").status_code == 302  # not staff


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_bulk_jobs_progress_bar_moves_without_a_reload(admin_browser):
    job = BulkClaimJob.objects.create(total=400, done=40, chunks_total=4, chunks_done=0)
    admin_browser.get(f"{admin_browser.live_url}/admin/")
    bar = admin_browser.find_element(By.CSS_SELECTOR, "#dash-bulk progress")
    assert bar.get_attribute("value") == "10"
    admin_browser.execute_script("window.notReloaded = true;")
    BulkClaimJob.objects.filter(id=job.id).update(done=300, chunks_done=3)
    # Read inside the page, in one step: the refresh replaces the bar, and an element found a moment before
    # could be gone when its value was asked for (a StaleElementReferenceException on a slow machine).
    wait_until(
        lambda: (
            admin_browser.execute_script(
                "const bar = document.querySelector('#dash-bulk progress'); return bar && bar.getAttribute('value');"
            )
            == "75"
        ),
        20,
        "the bar to show 75 % after the page's own refresh",
    )
    assert admin_browser.execute_script("return window.notReloaded === true;")
    assert "75% (300/400)" in admin_browser.execute_script("return document.getElementById('dash-bulk').innerText;")
