"""A remote-control command every worker answers: which broker, cache and database it uses, what it consumes.

The health check broadcasts it (`app.control.broadcast("live_mode", reply=True)`) and compares the
answers with its own mode: a worker that decided differently (a split brain) is reported, not guessed.

`live_mode()` lives here, in the platform, and backend/celery.py imports it (for the worker banner, and
re-exports it): core imports nothing from backend, so the two form no cycle.
"""

from celery import current_app
from celery.worker.control import inspect_command
from kombu.utils.url import maybe_sanitize_url


def live_mode(app=None) -> dict:
    """Which broker, result backend and cache this process uses, passwords masked.

    `app` is the Celery app (backend.celery's; by default the current one, which it is in every process)."""
    from django.conf import settings

    app = app or current_app
    with app.connection_for_read() as conn:
        broker = conn.as_uri()  # kombu masks the password
    db = settings.DATABASES["default"]
    return {
        "broker": broker,
        "result_backend": maybe_sanitize_url(app.conf.result_backend or ""),
        "cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
        # Where the cache and the django:// broker live: host, port and name only, never a password.
        "cache_location": maybe_sanitize_url(str(settings.CACHES["default"].get("LOCATION", ""))),
        "database": f"{db['ENGINE'].rsplit('.', 1)[-1]}:{db.get('HOST') or ''}:{db.get('PORT') or ''}/{db['NAME']}",
        "mode": settings.BACKEND_MODE,
        "redis_available": settings.REDIS_AVAILABLE,
    }


@inspect_command(name="live_mode")
def live_mode_command(state) -> dict:
    consumer = getattr(state, "consumer", None)
    task_consumer = getattr(consumer, "task_consumer", None)
    queues = sorted(queue.name for queue in getattr(task_consumer, "queues", ()) or ())
    return {**live_mode(getattr(consumer, "app", None)), "queues": queues}
