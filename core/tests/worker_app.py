"""The Celery app test workers run (`celery -A core.tests.worker_app worker`): ours plus probe tasks."""

from backend.celery import app
from core.tests import probe_tasks  # noqa: F401 - registers the probe tasks

__all__ = ("app",)
