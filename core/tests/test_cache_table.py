"""`migrate` alone leaves the database cache working, whatever cache the migrating process used (issue 8 §2)."""

import json
import subprocess
import sys

import pytest
from django.core.cache.backends.db import DatabaseCache
from django.db import connection

from conftest import ROOT, port_open

HEALTH = "import json, django; django.setup(); from core.health import check_cache; print(json.dumps(check_cache()))"


def run(args: list[str], **env) -> subprocess.CompletedProcess:
    base = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DJANGO_DEBUG": "1",
        "CELERY_BROKER_URL": "",
        "CELERY_RESULT_BACKEND": "",
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=180
    )


@pytest.mark.django_db
def test_the_migrated_test_database_has_the_cache_table_and_a_database_cache_works_on_it(settings):
    assert settings.DATABASE_CACHE_TABLE in connection.introspection.table_names()
    cache = DatabaseCache(settings.DATABASE_CACHE_TABLE, {})
    cache.set("probe", {"ok": 1}, timeout=30)
    assert cache.get("probe") == {"ok": 1}


@pytest.mark.skipif(not port_open(6379), reason="Redis is not running")
def test_migrate_run_while_redis_answers_still_creates_the_table_the_fallback_needs(tmp_path):
    database = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    migrated = run(
        ["manage.py", "migrate", "--noinput"],
        DATABASE_URL=database,
        DATA_DIR=str(tmp_path),
        REDIS_URL="redis://127.0.0.1:6379/14",
    )
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    # The next process finds no Redis and falls back to the database cache: it must just work.
    health = run(["-c", HEALTH], DATABASE_URL=database, DATA_DIR=str(tmp_path), REDIS_URL="redis://127.0.0.1:1/0")
    assert health.returncode == 0, health.stderr[-2000:]
    assert json.loads(health.stdout.strip().splitlines()[-1])["backend"] == "DatabaseCache"
