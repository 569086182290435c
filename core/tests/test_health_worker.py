"""With a real worker: /health/ready turns 200, and the health alerts really leave through the outbox.

One worker for both (a worker start and stop is most of such a test's time)."""

import pytest

from backend.celery import app
from conftest import wait_until
from core.health import run_health_checks
from core.tests.test_health import fresh_beat_rows
from notifications.tests.smtp import SmtpServer

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_ready_is_200_with_a_worker_and_each_change_of_state_emails_the_admins_once(client, start_worker, settings):
    app.control.purge()
    fresh_beat_rows()
    smtp = SmtpServer().start()
    try:
        start_worker("mail", env=smtp.env)
        response = client.get("/health/ready")
        assert response.status_code == 200, response.json()
        assert response.json() == {
            "ready": True,
            "components": {"database": True, "cache": True, "broker": True, "workers": True},
        }

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
