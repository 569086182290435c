"""The daily report is e-mailed, CSV attached, to REPORT_RECIPIENTS once per day, through the notifications app."""

from __future__ import annotations

import csv
import io
import time

import pytest

from conftest import wait_until
from core.tasks import generate_daily_reports
from notifications.models import Notification
from reports.tests.test_daily_report import DAY, day_of_claims  # noqa: F401 - the fixture

OPS, FINANCE = "ops@example.com", "finance@example.com"


def test_each_recipient_gets_one_e_mail_with_the_csv_even_when_the_day_is_regenerated(day_of_claims, settings):  # noqa: F811
    settings.REPORT_RECIPIENTS = [OPS, FINANCE]
    assert generate_daily_reports(report_date="2026-11-30")["emails"] == 2
    generate_daily_reports(report_date="2026-11-30")  # regenerated: the e-mails already exist
    rows = Notification.objects.order_by("recipient")
    assert [(r.recipient, r.template) for r in rows] == [(FINANCE, "daily_report"), (OPS, "daily_report")]
    ops = rows.get(recipient=OPS)
    assert ops.idempotency_key == "daily-report:2026-11-30:ops@example.com"
    assert ops.subject == "Daily claims report 2026-11-30"
    assert "Decided: 4 claims: 1 approved, 1 partially approved, 2 rejected" in ops.body
    (attachment,) = ops.attachments
    assert (attachment["filename"], attachment["mimetype"]) == ("claims-report-2026-11-30.csv", "text/csv")
    assert ["all", "", "total benefit", "1120.00"] in list(csv.reader(io.StringIO(attachment["content"])))


def test_a_bad_address_is_refused_and_the_others_still_get_theirs(day_of_claims, settings):  # noqa: F811
    settings.REPORT_RECIPIENTS = ["not-an-address", OPS]
    assert generate_daily_reports(report_date="2026-11-30")["emails"] == 1
    assert Notification.objects.get(recipient=OPS).status == Notification.Status.QUEUED


def test_without_recipients_nothing_is_e_mailed(day_of_claims, settings):  # noqa: F811
    settings.REPORT_RECIPIENTS = []
    assert generate_daily_reports(report_date="2026-11-30")["emails"] == 0
    assert not Notification.objects.exists()


@pytest.fixture
def smtp():
    from notifications.tests.smtp import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.mark.worker
def test_the_task_on_a_worker_delivers_the_report_to_a_real_smtp_server_once(start_worker, smtp, day_of_claims):  # noqa: F811
    start_worker("reports", env={**smtp.env, "REPORT_RECIPIENTS": f"{OPS},{FINANCE}"})
    generate_daily_reports.delay("2026-11-30").get(timeout=60)
    wait_until(lambda: smtp.mailbox.count == 2, 30, "two report e-mails")
    generate_daily_reports.delay("2026-11-30").get(timeout=60)
    messages = sorted(smtp.mailbox.messages(), key=lambda m: m["To"])
    assert [(m["To"], m["Subject"]) for m in messages] == [
        (FINANCE, "Daily claims report 2026-11-30"),
        (OPS, "Daily claims report 2026-11-30"),
    ]
    (attachment,) = list(messages[0].iter_attachments())
    assert attachment.get_filename() == "claims-report-2026-11-30.csv"
    assert ["received", "", "claims", "5"] in list(csv.reader(io.StringIO(attachment.get_content())))
    time.sleep(1)  # room for a wrong second send to arrive
    assert smtp.mailbox.count == 2  # regenerated, not e-mailed again
