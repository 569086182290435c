"""The seed's cache tasks, re-exported by core/tasks.py under their public names (routed to the cache queue)."""

from celery import shared_task

from core.cache_maintenance import cache_warm_up
from core.hygiene import daily_cleanup


@shared_task(name="core.tasks.cache_warmup", soft_time_limit=300, time_limit=360)
def cache_warmup() -> dict:
    """Daily 02:00 UTC: plans, tariffs, provider registry and dashboard into a new cache generation."""
    return cache_warm_up()


@shared_task(name="core.tasks.cleanup_expired_cache", soft_time_limit=300, time_limit=360)
def cleanup_expired_cache(only: list[str] | None = None) -> dict:
    """Daily 03:00 UTC, the daily cleanup: expired cache entries, then every registered step (task results,
    old e-mails' personal data, ...; core/hygiene.py). Counts per step; within HYGIENE_TIME_BUDGET_SECONDS,
    below the soft limit, so a big backlog is reported as `left` and taken up the next day, never cut.
    `only` names the steps to run (an operator's one-off; beat sends no arguments)."""
    return daily_cleanup(only=only)
