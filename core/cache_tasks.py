"""The seed's cache tasks, re-exported by core/tasks.py under their public names (routed to the cache queue)."""

from celery import shared_task

from core.cache_maintenance import cache_cleanup, cache_warm_up


@shared_task(name="core.tasks.cache_warmup", soft_time_limit=300, time_limit=360)
def cache_warmup() -> dict:
    """Daily 02:00 UTC: plans, tariffs, provider registry and dashboard into a new cache generation."""
    return cache_warm_up()


@shared_task(name="core.tasks.cleanup_expired_cache", soft_time_limit=300, time_limit=360)
def cleanup_expired_cache() -> dict:
    """Daily 03:00 UTC: expired database-cache rows, or superseded reference keys on Redis."""
    return cache_cleanup()
