"""/health/live, /health/ready and `manage.py health`, without a worker (with one: test_health_worker.py)."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from core.tests.test_health import fresh_beat_rows

pytestmark = pytest.mark.django_db


def test_live_answers_200_and_touches_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live")
    assert response.status_code == 200 and response.json() == {"live": True}


@pytest.mark.django_db(transaction=True)  # the worker ping reads the django:// tables on another connection
def test_ready_is_503_when_no_worker_answers_and_staff_are_told_why(client):
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {
        "ready": False,
        "components": {"database": True, "cache": True, "broker": True, "workers": False},
    }
    client.force_login(get_user_model().objects.create_user("ops", password="x", is_staff=True))
    body = client.get("/health/ready").json()
    assert body["checks"]["workers"]["error"] == "no worker answered a ping within 1.0s"


def test_the_command_exits_0_when_healthy_and_1_when_not(capsys, settings):
    fresh_beat_rows()
    call_command("health", "--no-workers")
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["component", "status", "ms", "detail"]
    assert "HEALTHY" in out and "DOWN" not in out
    settings.HEALTH_MIN_FREE_DISK_MB = 10**12
    with pytest.raises(SystemExit) as exited:
        call_command("health", "--no-workers", "--json")
    assert exited.value.code == 1
    body = json.loads(capsys.readouterr().out)
    assert body["healthy"] is False and body["components"]["disk"]["ok"] is False
    assert body["components"]["database"] == {
        "ok": True,
        "latency_ms": body["components"]["database"]["latency_ms"],
        "detail": body["components"]["database"]["detail"],
    }
