"""The Celery app: `celery -A backend.celery worker` and every process that imports Django."""

import logging
import os
import time

from celery.signals import beat_init, before_task_publish, celeryd_after_setup, task_postrun, task_prerun

from core.beat_lock import hold_beat_lock
from core.broker import register_transport
from core.control import live_mode  # also registers the `live_mode` remote-control command
from core.store_first import StoreFirstCelery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
register_transport()  # makes the broker URL django:// resolvable (kombu dropped its own in 4.0)

# Store-first tasks (e-mails, bulk jobs) called by name still publish ids only (core/store_first.py).
app = StoreFirstCelery("backend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
beat_init.connect(hold_beat_lock)  # one beat sends, a second one waits as its standby (issue 9)

logger = logging.getLogger(__name__)


@celeryd_after_setup.connect
def _log_live_mode(sender, instance, **kwargs):
    from django_celery_results.backends import DatabaseBackend

    # django-celery-results' backend has no URL, so Celery's banner would print an empty "results:".
    DatabaseBackend.as_uri = lambda self, *args, **kwargs: "django-db"
    mode = live_mode(app)
    logger.info(
        "Worker %s: broker %s, result backend %s, cache %s",
        sender,
        mode["broker"],
        mode["result_backend"],
        mode["cache"],
    )


@task_prerun.connect
@task_postrun.connect
def _drop_broken_database_connections(**kwargs):
    """Before and after every task, close connections that failed or outlived CONN_MAX_AGE (as Django
    does around each request). Celery's Django fixup keeps them for CELERY_DB_REUSE_MAX tasks without
    looking, so after a database restart one pool process failed every task it got (issue 8)."""
    from core.transient import drop_broken_connections

    drop_broken_connections()


@before_task_publish.connect
def _stamp_publish_time(headers=None, **kwargs):
    """Every task message carries its publish time (epoch seconds): Redis keeps none with a message, and
    core.queues.queue_stats reads it to give the age of the oldest waiting message per queue."""
    if headers is not None:
        headers["published_at"] = time.time()
