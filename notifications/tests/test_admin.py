"""The notifications admin: list, filters, search by claim, and "send again" for failed e-mails."""

import pytest

from claims.tests.factories import ClaimFactory
from notifications.models import Notification
from notifications.services import notification_create

pytestmark = pytest.mark.django_db

URL = "/admin/notifications/notification/"


def test_the_list_filters_by_status_and_finds_a_claims_email(admin_client):
    claim = ClaimFactory(claim_number="CLM-SEARCH-1")
    mine = notification_create(recipient="a@example.com", subject="Yours", body="B", claim_id=claim.id, enqueue=False)
    other = notification_create(recipient="b@example.com", subject="Other", body="B", enqueue=False)
    Notification.objects.filter(id=other.id).update(status="failed")
    found = admin_client.get(URL, {"q": "CLM-SEARCH-1"})
    assert found.status_code == 200 and list(found.context["cl"].result_list) == [mine]
    failed = admin_client.get(URL, {"status__exact": "failed"})
    assert list(failed.context["cl"].result_list) == [other]
    assert admin_client.get(f"{URL}{mine.id}/change/").status_code == 200


def test_send_again_requeues_failed_ones_and_says_what_it_skipped(admin_client, django_capture_on_commit_callbacks):
    failed = notification_create(recipient="a@example.com", subject="S", body="B", enqueue=False)
    sent = notification_create(recipient="b@example.com", subject="S", body="B", enqueue=False)
    Notification.objects.filter(id=failed.id).update(status="failed", attempts=6)
    Notification.objects.filter(id=sent.id).update(status="sent")
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            URL, {"action": "send_again", "_selected_action": [failed.id, sent.id]}, follow=True
        )
    texts = [str(message) for message in response.context["messages"]]
    assert "1 notification(s) queued to be sent again." in texts
    assert any(text.startswith("1 skipped") for text in texts)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("queued", 0)
    assert len(callbacks) == 1  # the re-send is published once the change is committed


def test_nobody_adds_an_email_by_hand(admin_client):
    assert admin_client.get(f"{URL}add/").status_code == 403
