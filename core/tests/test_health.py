"""health_check reports every component, and a component that is down never breaks the others."""

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from backend.celery import app
from conftest import broker_kind
from core.health import run_health_checks
from core.tasks import health_check

pytestmark = pytest.mark.django_db

ALL_COMPONENTS = {
    "database",
    "cache",
    "broker",
    "disk",
    "dead_letters",
    "beat",
    "queues",
    "claims",
    "bulk_jobs",
    "notifications",
}


def fresh_beat_rows():
    """Every periodic task ran just now (the rows a migration installed may be minutes old by this test)."""
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    PeriodicTask.objects.update(last_run_at=timezone.now())
    if broker_kind() == "redis":  # messages an earlier test left in the run's Redis database would age
        app.control.purge()


NOBODY_LISTENS = "redis://127.0.0.1:1/0"  # port 1: connection refused at once


@pytest.fixture
def broker_down():
    # The checks open fresh connections from app.conf. (Never close app.pool here: it is kombu's
    # process-wide pool for the real broker, and a closed pool refuses every later publish.)
    # The process-wide pools are made lazily from the URL of the moment: make them now, on the real
    # broker, so that a later test's app.control does not inherit a pool bound to the dead one.
    assert app.pool is not None and app.amqp.producer_pool is not None
    original = app.conf.broker_url
    app.conf.broker_url = NOBODY_LISTENS
    yield
    app.conf.broker_url = original


def test_a_healthy_system_reports_every_component_up_with_its_latency():
    fresh_beat_rows()
    summary = run_health_checks(ping_workers=False)
    assert summary["healthy"] is True, summary
    assert set(summary["checks"]) == ALL_COMPONENTS
    for name in ALL_COMPONENTS:
        assert summary["checks"][name]["status"] == "up", summary["checks"][name]
        assert summary["checks"][name]["latency_ms"] >= 0
    assert set(summary["checks"]["broker"]["queues"]) == {"default", "cache", "reports", "monitoring"}


# The worker ping goes through the broker's own database connection: on SQLite it must not wait for
# the write lock that an ordinary test's open transaction holds (the cache check writes), so these
# two tests commit as they go.
@pytest.mark.django_db(transaction=True)
def test_the_broker_down_is_reported_not_raised(broker_down):
    summary = health_check()  # the task itself, called directly as the seed shows
    assert summary["healthy"] is False
    assert summary["checks"]["broker"]["status"] == "down"
    assert summary["checks"]["workers"]["status"] == "down"
    assert summary["checks"]["database"]["status"] == "up"


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": NOBODY_LISTENS}}
)
def test_the_cache_down_is_reported_not_raised():
    summary = run_health_checks(ping_workers=False)
    assert summary["checks"]["cache"]["status"] == "down"
    assert "Error" in summary["checks"]["cache"]["error"]
    assert summary["checks"]["database"]["status"] == "up"
    assert summary["healthy"] is False


@override_settings(HEALTH_MIN_FREE_DISK_MB=10**12)
def test_too_little_free_disk_is_unhealthy():
    summary = run_health_checks(ping_workers=False)
    assert summary["checks"]["disk"]["status"] == "down"
    assert "below the" in summary["checks"]["disk"]["error"]


@pytest.mark.django_db(transaction=True)
def test_no_worker_answering_is_unhealthy():
    summary = run_health_checks(ping_workers=True, ping_timeout=0.5)
    assert summary["checks"]["workers"]["status"] == "down"
    assert summary["healthy"] is False


def test_the_endpoint_gives_anonymous_callers_only_the_verdict(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"healthy": True}


def test_the_endpoint_gives_staff_the_details_and_503_when_down(client, broker_down):
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client.force_login(staff)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "down"


def test_a_parked_poison_message_makes_the_system_unhealthy_until_an_operator_acts():
    from core.broker.models import DeadLetter

    letter = DeadLetter.objects.create(queue="default", payload="{}", deliveries=10)
    summary = run_health_checks(ping_workers=False)
    assert summary["healthy"] is False
    assert "1 message(s) in the dead-letter table" in summary["checks"]["dead_letters"]["error"]
    letter.delete()
    assert run_health_checks(ping_workers=False)["checks"]["dead_letters"]["status"] == "up"
