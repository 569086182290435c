"""The report in the admin (tables, chart, CSV), over the API (JSON), on a worker, and on beat's schedule."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from backend.celery import app
from core.tasks import generate_daily_reports
from reports.models import DailyReport
from reports.services import daily_report_generate
from reports.tests.test_daily_report import DAY, day_of_claims  # noqa: F401 - the fixture

reports_migration = __import__("reports.migrations.0003_periodic_task", fromlist=["install"])
cache_migration = __import__("core.migrations.0002_cache_periodic_tasks", fromlist=["install"])


@pytest.fixture
def report(day_of_claims):  # noqa: F811 - the imported fixture
    for days_back in range(1, 4):  # a few earlier days for the chart
        daily_report_generate(day=DAY - timedelta(days=days_back))
    return daily_report_generate(day=DAY)


def test_the_admin_lists_reports_with_the_cached_dashboard(admin_client, report):
    page = admin_client.get("/admin/reports/dailyreport/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Nov. 30, 2026" in html or "2026-11-30" in html
    assert "Dashboard" in html and "Bulk jobs running" in html


def test_a_report_page_shows_readable_tables_and_the_30_day_chart(admin_client, report):
    page = admin_client.get(f"/admin/reports/dailyreport/{report.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and html.count("<rect") == 4 * 3  # 4 days x 3 outcomes
    assert "2026-11-30 approved: 1" in html
    for text in (
        "Plan Classic 2026",
        "Discipline: Specialist",
        "Dr B. Specialist",
        "MEMBER_NOT_ACTIVE",
        "1120.00",
        "7200",
    ):
        assert text in html, text


def test_the_admin_downloads_the_csv(admin_client, report):
    response = admin_client.get(f"/admin/reports/dailyreport/{report.pk}/csv/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="claims-report-2026-11-30.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["all", "", "total benefit", "1120.00"] in rows


def test_the_regenerate_action_replaces_reports(admin_client, report):
    response = admin_client.post(
        "/admin/reports/dailyreport/", {"action": "regenerate", "_selected_action": [report.pk]}, follow=True
    )
    assert response.status_code == 200 and "Regenerated 1 report(s)." in response.content.decode()
    assert DailyReport.objects.filter(day=DAY).count() == 1


def test_report_pages_need_a_login(client, report):
    for url in (f"/admin/reports/dailyreport/{report.pk}/change/", f"/admin/reports/dailyreport/{report.pk}/csv/"):
        assert client.get(url).status_code == 302


def test_the_api_gives_the_report_as_json(admin_user, report):
    api = APIClient()
    assert api.get("/api/reports/2026-11-30/").status_code == 401
    api.force_authenticate(admin_user)
    body = api.get("/api/reports/2026-11-30/").json()
    assert (body["day"], body["claims_decided"], body["benefit_total"]) == ("2026-11-30", 4, "1120.00")
    assert body["content"]["decision_time"] == {"average_s": 2860, "p95_s": 7200}
    listed = api.get("/api/reports/").json()
    assert [r["day"] for r in listed["results"]][:2] == ["2026-11-30", "2026-11-29"]
    assert api.get("/api/reports/2026-12-25/").status_code == 404
    assert api.get("/api/reports/not-a-day/").status_code == 404


@pytest.mark.worker
def test_generate_daily_reports_runs_on_a_worker_of_the_reports_queue(start_worker, day_of_claims):  # noqa: F811
    start_worker("reports", queues="reports")
    result = generate_daily_reports.delay("2026-11-30").get(timeout=60)
    assert result["day"] == "2026-11-30" and result["claims_decided"] == 4
    again = generate_daily_reports.delay("2026-11-30").get(timeout=60)
    assert again["report_id"] == result["report_id"]
    assert DailyReport.objects.filter(day=DAY).count() == 1


@pytest.mark.django_db
def test_beat_schedules_the_three_tasks_daily_in_utc_on_their_queues():
    PeriodicTask.objects.filter(name__in=["generate_daily_reports", "cache_warmup", "cleanup_expired_cache"]).delete()
    reports_migration.install(apps, None)
    cache_migration.install(apps, None)
    expected = {
        "cache_warmup": ("core.tasks.cache_warmup", "cache", "2"),
        "cleanup_expired_cache": ("core.tasks.cleanup_expired_cache", "cache", "3"),
        "generate_daily_reports": ("core.tasks.generate_daily_reports", "reports", "6"),
    }
    for name, (task, queue, hour) in expected.items():
        row = PeriodicTask.objects.get(name=name)
        assert (row.task, row.queue, row.enabled) == (task, queue, True)
        assert (row.crontab.minute, row.crontab.hour, str(row.crontab.timezone)) == ("0", hour, "UTC")
        assert row.task in app.tasks  # beat never sends a task no worker knows
        assert app.amqp.router.route({}, row.task)["queue"].name == queue
