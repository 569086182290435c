"""With a real worker: /health/ready turns 200, and the health alerts really leave through the outbox."""

import pytest

from backend.celery import app
from conftest import wait_until
from core.health import run_health_checks
from core.tests.test_health import fresh_beat_rows
from notifications.tests.smtp import SmtpServer

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_ready_is_200_once_a_worker_answers(client, start_worker):
    start_worker("ready")
    response = client.get("/health/ready")
    assert response.status_code == 200, response.json()
    assert response.json() == {"ready": True, "components": {"database": True, "cache": True, "broker": True,
                                                             "workers": True}}  # fmt: skip


def test_one_email_when_it_turns_unhealthy_none_while_it_stays_so_one_when_it_recovers(start_worker, settings):
    app.control.purge()
    fresh_beat_rows()
    smtp = SmtpServer().start()
    try:
        start_worker("mail", env=smtp.env)
        settings.ADMINS = [("Ops", "ops@example.com")]

        def run(*, disk_ok: bool) -> dict:
            settings.HEALTH_MIN_FREE_DISK_MB = 0 if disk_ok else 10**12
            return run_health_checks(ping_workers=False, store=True)  # what the task runs, less the 1 s ping

        assert run(disk_ok=True)["healthy"] is True
        assert run(disk_ok=False)["healthy"] is False
        wait_until(lambda: smtp.mailbox.count == 1, 30, "the alert e-mail arrived")
        assert run(disk_ok=False)["healthy"] is False
        assert run(disk_ok=True)["healthy"] is True
        wait_until(lambda: smtp.mailbox.count == 2, 30, "the recovery e-mail arrived")
        down, recovered = smtp.mailbox.messages()
        assert (down["To"], down["Subject"]) == ("ops@example.com", "Health: unhealthy - disk down")
        assert "below the" in down.get_content()
        assert recovered["Subject"] == "Health: recovered - every component is up"  # none for the run in between
    finally:
        smtp.stop()
