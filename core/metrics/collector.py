"""A prometheus-client Collector that reads everything at scrape time, so every web process answers the same.

Nothing here is kept in process-global counters: each scrape reads the `TaskStat` rows the workers write,
the broker's queue depths, the sections the domain apps register (bulk jobs, claims and notifications by
status: `register_section`), and the last health verdict.
A section that cannot be read (the broker down, say) is left out and reported by
`medaid_metrics_section_up{section} 0`, so one outage never hides the others. Label values are task,
queue, state, outcome and component names and bulk job ids only: never a name, an address or a code
that belongs to a member.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from core.metrics.recorder import BUCKETS, INF, format_bound

logger = logging.getLogger(__name__)

PREFIX = "medaid"
HEALTH_CACHE_KEY = "metrics:health:v1"


# The domain's sections (bulk jobs and claims from claims/metrics.py, e-mails from notifications/metrics.py),
# registered from their AppConfig.ready(): core imports no domain app (issue 12).
_domain_sections: dict[str, Callable[[], list[Metric]]] = {}


def register_section(name: str, read: Callable[[], list[Metric]]) -> None:
    """Add (or replace, so a re-run ready() is harmless) a section; it is read at every scrape, between the
    platform's own sections (tasks, queues) and health, and reported by medaid_metrics_section_up."""
    _domain_sections[name] = read


class MedaidCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        sections: dict[str, Callable[[], list[Metric]]] = {
            "tasks": task_metrics,
            "queues": queue_metrics,
            **_domain_sections,
            "health": health_metrics,
        }
        up = GaugeMetricFamily(
            f"{PREFIX}_metrics_section_up", "1 when the section could be read at this scrape", labels=["section"]
        )
        for section, read in sections.items():
            try:
                metrics = read()
            except Exception as exc:  # report it, keep the other sections
                logger.warning("metrics: section %s could not be read: %s", section, type(exc).__name__)
                up.add_metric([section], 0)
                continue
            up.add_metric([section], 1)
            yield from metrics
        yield up


def task_metrics() -> list[Metric]:
    """Tasks by name and end state with their runtimes, as counted by the workers (recorder.py)."""
    from core.metrics.models import TaskStat

    rows = TaskStat.objects.values_list("task_name", "state", "le", "count", "seconds")
    per_bucket: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for name, state, le, count, seconds in rows:
        per_bucket[name, state][le] = per_bucket[name, state].get(le, 0) + count
        sums[name, state] += seconds
    total = CounterMetricFamily(
        f"{PREFIX}_celery_tasks", "Tasks run by the workers, by task name and end state", labels=["task", "state"]
    )
    runtime = HistogramMetricFamily(
        f"{PREFIX}_celery_task_runtime_seconds",
        "Task runtime in the worker (prerun to postrun), by task name and end state",
        labels=["task", "state"],
    )
    bounds = [format_bound(bound) for bound in BUCKETS] + [INF]
    for key in sorted(per_bucket):
        counts, cumulative, buckets = per_bucket[key], 0, []
        for bound in bounds:
            cumulative += counts.get(bound, 0)
            buckets.append((bound, cumulative))
        total.add_metric(list(key), cumulative)
        runtime.add_metric(list(key), buckets, sums[key])
    return [total, runtime]


def queue_metrics() -> list[Metric]:
    """Ready messages per queue (and the oldest one's age where the broker can tell), from the live broker."""
    from core import queues

    names = list(settings.TASK_QUEUE_NAMES)
    depth = GaugeMetricFamily(
        f"{PREFIX}_queue_messages", "Messages ready (not yet delivered) in the queue", labels=["queue"]
    )
    metrics: list[Metric] = [depth]
    queue_stats = getattr(queues, "queue_stats", None)  # with the oldest message's age (issue 11's health part)
    if queue_stats is None:
        for name, ready in queues.queue_depths(names).items():
            depth.add_metric([name], ready)
        return metrics
    age = GaugeMetricFamily(
        f"{PREFIX}_queue_oldest_message_age_seconds",
        "Age of the oldest ready message in the queue (0 when empty)",
        labels=["queue"],
    )
    for name, stats in queue_stats(names).items():
        depth.add_metric([name], stats["depth"])
        oldest = stats.get("oldest_age_seconds")
        if oldest is not None or not stats["depth"]:  # unknown age (a message without the header): no sample
            age.add_metric([name], oldest or 0)
    metrics.append(age)
    return metrics


def count_by_status(model) -> dict[str, int]:
    """One GROUP BY on the model's indexed status column."""
    return dict(model.objects.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))


def health_metrics() -> list[Metric]:
    """Each health component's status and latency: the last stored health run, else a fresh check, cached."""
    verdict = latest_health()
    up = GaugeMetricFamily(f"{PREFIX}_health_component_up", "1 when the health component is up", labels=["component"])
    latency = GaugeMetricFamily(
        f"{PREFIX}_health_component_latency_seconds", "How long the component's check took", labels=["component"]
    )
    for name, component in sorted(verdict["components"].items()):
        up.add_metric([name], 1 if component["ok"] else 0)
        if component.get("latency_ms") is not None:
            latency.add_metric([name], round(component["latency_ms"] / 1000, 6))
    healthy = GaugeMetricFamily(f"{PREFIX}_healthy", "1 when every health component is up")
    healthy.add_metric([], 1 if verdict["components"] and all(c["ok"] for c in verdict["components"].values()) else 0)
    checked = GaugeMetricFamily(f"{PREFIX}_health_checked_timestamp_seconds", "When that health verdict was made")
    checked.add_metric([], verdict["checked_at"])
    return [up, latency, healthy, checked]


def latest_health() -> dict:
    """{"checked_at": epoch seconds, "components": {name: {"ok": bool, "latency_ms": float}}}.

    The health_check task's last stored run when there is one (core.models.HealthCheckRun), so scraping
    costs a read; otherwise the checks are run here (without pinging workers: no scrape waits for a
    reply timeout) and the verdict is shared through the cache for METRICS_HEALTH_CACHE_SECONDS.
    """
    stored = _latest_stored_run()
    if stored is not None:
        return stored
    verdict = cache.get(HEALTH_CACHE_KEY)
    if verdict is None:
        from core.health import UP, run_health_checks

        summary = run_health_checks(ping_workers=False)
        verdict = {
            "checked_at": summary["checked_at"],
            "components": {
                name: {"ok": check["status"] == UP, "latency_ms": check.get("latency_ms")}
                for name, check in summary["checks"].items()
            },
        }
        try:
            cache.set(HEALTH_CACHE_KEY, verdict, timeout=settings.METRICS_HEALTH_CACHE_SECONDS)
        except Exception:  # the cache is down: the verdict (cache down) is still worth reporting
            logger.debug("metrics: could not cache the health verdict", exc_info=True)
    return verdict


def _latest_stored_run() -> dict | None:
    from core import models as core_models

    run_model = getattr(core_models, "HealthCheckRun", None)
    if run_model is None:
        return None
    run = run_model.objects.order_by("-pk").first()
    if run is None:
        return None
    when = getattr(run, "finished_at", None)
    components = {
        name: {"ok": bool(value.get("ok")), "latency_ms": value.get("latency_ms")}
        for name, value in (run.components or {}).items()
        if isinstance(value, dict)
    }
    return {"checked_at": when.timestamp() if when else time.time(), "components": components}
