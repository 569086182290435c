"""The start-up decision (Redis or the database) and the settings guards, in fresh processes."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT, port_open

PRINT_MODE = (
    "import json, django; django.setup(); from django.conf import settings; from backend.celery import live_mode;"
    "print(json.dumps({'broker': settings.CELERY_BROKER_URL, 'backend': settings.CELERY_RESULT_BACKEND,"
    " 'cache': settings.CACHES['default']['BACKEND'], 'vt': settings.CELERY_VISIBILITY_TIMEOUT,"
    " 'prefetch': settings.CELERY_WORKER_PREFETCH_MULTIPLIER, 'live': live_mode()}))"
)


def settings_in_a_fresh_process(**env):
    base = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DJANGO_DEBUG": "1",
        "DATA_DIR": str(ROOT / "data"),
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "CELERY_RESULT_BACKEND": "",
    }
    result = subprocess.run(
        [sys.executable, "-c", PRINT_MODE], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60
    )
    return result


def redis_is_up() -> bool:
    return port_open(6379)


def test_without_redis_everything_falls_back_to_the_database():
    result = settings_in_a_fresh_process(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    mode = json.loads(result.stdout)
    assert mode["broker"] == "django://"
    assert mode["backend"] == "django-db"
    assert mode["cache"].endswith("DatabaseCache")
    assert mode["vt"] == 60  # a django:// lease is renewed, so it can be short
    assert mode["live"]["broker"] == "django://" and mode["live"]["result_backend"] == "django-db"


@pytest.mark.skipif(not redis_is_up(), reason="Redis is not running")
def test_when_redis_answers_it_is_broker_results_and_cache():
    mode = json.loads(settings_in_a_fresh_process(REDIS_URL="redis://127.0.0.1:6379/14").stdout)
    assert mode["broker"] == mode["backend"] == "redis://127.0.0.1:6379/14"
    assert mode["cache"].endswith("RedisCache")
    # Longer than the longest hard time limit (360 s), and minutes rather than an hour: a task whose
    # worker was killed comes back from Redis that soon.
    assert 360 < mode["vt"] <= 600


def test_explicit_urls_win_and_passwords_are_masked():
    mode = json.loads(
        settings_in_a_fresh_process(
            REDIS_URL="redis://127.0.0.1:1/0",
            CELERY_BROKER_URL="amqp://guest:s3cret@127.0.0.1:5672//",
            CELERY_RESULT_BACKEND="redis://:s3cret@127.0.0.1:6379/14",
        ).stdout
    )
    assert mode["broker"].startswith("amqp://")
    assert "s3cret" not in json.dumps(mode["live"])
    assert mode["live"]["broker"].startswith("amqp://guest:**@")


def test_prefetch_multiplier_defaults_to_one_and_comes_from_the_environment():
    assert json.loads(settings_in_a_fresh_process().stdout)["prefetch"] == 1
    assert json.loads(settings_in_a_fresh_process(CELERY_WORKER_PREFETCH_MULTIPLIER="4").stdout)["prefetch"] == 4


@pytest.mark.skipif(not redis_is_up(), reason="Redis is not running")
def test_a_redis_visibility_timeout_shorter_than_the_longest_task_is_refused():
    # Redis would deliver a still-running task a second time once the timeout ran out.
    result = settings_in_a_fresh_process(REDIS_URL="redis://127.0.0.1:6379/14", CELERY_VISIBILITY_TIMEOUT="300")
    assert result.returncode != 0
    assert "CELERY_VISIBILITY_TIMEOUT (300s) must exceed" in result.stderr


def test_without_debug_a_secret_key_is_required():
    result = settings_in_a_fresh_process(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_no_task_may_run_longer_than_the_longest_hard_limit_the_visibility_timeout_is_built_on():
    from django.conf import settings

    from backend.celery import app

    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert "claims.tasks.adjudicate_chunk" in ours and "core.tasks.process_bulk_claims" in ours
    for name, task in ours.items():
        limit = task.time_limit or settings.CELERY_TASK_TIME_LIMIT
        assert limit <= settings.LONGEST_TASK_TIME_LIMIT <= 360, name


PRODUCTION = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "test-only-not-secret"}


def test_in_production_a_redis_url_means_redis_even_when_it_does_not_answer():
    # No probe, no fallback: a process started during a Redis outage must not pick the database while
    # the others use Redis (issue 9: the split brain). Its connections retry until Redis is back.
    mode = json.loads(settings_in_a_fresh_process(**PRODUCTION, REDIS_URL="redis://127.0.0.1:1/0").stdout)
    assert mode["broker"] == mode["backend"] == "redis://127.0.0.1:1/0"
    assert mode["cache"].endswith("RedisCache")


@pytest.mark.parametrize(
    "choice", [{"REDIS_URL": ""}, {"REDIS_URL": "redis://127.0.0.1:6379/14", "CELERY_BROKER_URL": "django://"}]
)
def test_in_production_the_database_mode_is_chosen_explicitly(choice):
    mode = json.loads(settings_in_a_fresh_process(**PRODUCTION, **choice).stdout)
    assert (mode["broker"], mode["backend"]) == ("django://", "django-db")
    assert mode["cache"].endswith("DatabaseCache")


def test_check_deploy_is_clean_with_the_production_values(tmp_path):
    production = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "k" * 20 + "-production-like-secret-" + "q" * 20,
        "DJANGO_ALLOWED_HOSTS": "claims.example.org",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "CELERY_RESULT_BACKEND": "",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_HSTS_PRELOAD": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_in_production_cookies_are_secure_and_the_csrf_cookie_is_http_only():
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps("
        "[s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS]))"
    )
    base = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DATA_DIR": str(ROOT / "data"),
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "CELERY_RESULT_BACKEND": "",
    }
    production = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, env={**base, **PRODUCTION}
    )
    assert json.loads(production.stdout) == [True, True, True, 31_536_000], production.stderr
    development = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, "DJANGO_DEBUG": "1"},
    )
    assert json.loads(development.stdout) == [False, False, True, 0]  # plain HTTP on 127.0.0.1
