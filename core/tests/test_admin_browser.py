"""Admin pages in a real browser: a daily report with its chart, and re-sending a failed e-mail."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from claims.adjudication.engine import adjudicate_claims
from claims.demo import demo_data_seed
from claims.models import Claim
from notifications.models import Notification
from notifications.services import notification_create
from reports.services import daily_report_generate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_reads_a_daily_report_with_its_outcome_chart(admin_browser):
    demo_data_seed(members=30, claims=60, seed=2)
    adjudicate_claims(list(Claim.objects.values_list("id", flat=True)))
    day = Claim.objects.values_list("decided_at", flat=True).first().date()
    report = daily_report_generate(day=day)
    assert report.claims_decided == 60

    admin_browser.get(f"{admin_browser.live_url}/admin/reports/dailyreport/")
    admin_browser.find_element(By.CSS_SELECTOR, f"#result_list a[href*='/dailyreport/{report.id}/']").click()
    chart = admin_browser.find_element(By.CSS_SELECTOR, "svg[role=img]")
    assert chart.get_attribute("aria-label") == "Claims decided per day by outcome"
    bars = chart.find_elements(By.TAG_NAME, "rect")
    assert bars and all(bar.size["height"] > 0 for bar in bars)  # drawn, not just present in the markup
    summary = admin_browser.find_element(By.CSS_SELECTOR, ".daily-report table").text
    assert "Claims decided 60" in summary
    csv_link = admin_browser.find_element(By.LINK_TEXT, "Download CSV").get_attribute("href")
    assert csv_link.endswith(f"/admin/reports/dailyreport/{report.id}/csv/")


def test_an_admin_sends_a_failed_email_again_from_the_list(admin_browser):
    failed = notification_create(
        recipient="member@example.com", subject="Claim CLM-1 approved", body="B", enqueue=False
    )
    Notification.objects.filter(id=failed.id).update(status="failed", attempts=6, last_error="SMTP 421")

    admin_browser.get(f"{admin_browser.live_url}/admin/notifications/notification/?status__exact=failed")
    admin_browser.find_element(By.CSS_SELECTOR, f"input[name=_selected_action][value='{failed.id}']").click()
    Select(admin_browser.find_element(By.NAME, "action")).select_by_value("send_again")
    admin_browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    message = admin_browser.find_element(By.CSS_SELECTOR, ".messagelist .success").text
    assert message == "1 notification(s) queued to be sent again."
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("queued", 0)
