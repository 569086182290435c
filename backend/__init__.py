# Load the Celery app whenever Django starts, so that @shared_task binds to it
# and the django:// transport is registered in every process (web, shell, worker, beat).
from .celery import app as celery_app

__all__ = ("celery_app",)
