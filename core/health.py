"""System health: the platform (database, cache, broker, workers, disk, dead letters), beat, queue ages,
and the findings the domain apps register (claims, bulk jobs, notifications).

Every check returns {"status": "up" | "down" | "split", "latency_ms": float, ...}; a component that
fails is reported down with its error, never raised, so one outage does not hide the state of the
others. "split" (unhealthy) means the processes disagree: a worker answering with another broker,
cache or database than this process's, a worker consuming the other broker (Redis when we use the
database, or the reverse), or a queue with ready messages that no worker consumes.

The health_check task's run is stored (HealthCheckRun) and compared with the previous one: the admins
get one e-mail when the system turns unhealthy and one when it recovers (`health_run_store`).
`core` imports no domain app: the domain findings and the alert channel are hooks the apps register
from their AppConfig.ready() (`register_check`, `register_alert_channel`).
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

UP, DOWN, SPLIT = "up", "down", "split"
COMPARED = ("broker", "cache", "cache_location", "database")  # what every process must agree on


class HealthFinding(RuntimeError):
    """What a check found wrong (a task overdue, a job stuck), as against the check itself failing."""


def _timed(check: Callable[[], dict]) -> dict:
    started = time.perf_counter()
    try:
        result = {"status": UP, **check()}
    except HealthFinding as finding:  # the message says it all; no exception name in an alert e-mail
        result = {"status": DOWN, "error": str(finding)[:1000]}
    except Exception as exc:  # a check must report, not raise
        result = {"status": DOWN, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def check_cache() -> dict:
    key, value = f"health:probe:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=30)
    read = cache.get(key)
    cache.delete(key)
    if read != value:
        raise RuntimeError("cache did not return the value just written")
    return {"backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


def check_broker() -> dict:
    from backend.celery import app
    from core.queues import queue_depths

    depths = queue_depths(settings.TASK_QUEUE_NAMES)
    with app.connection_for_read() as conn:
        return {"url": conn.as_uri(), "queues": depths}


def check_workers(timeout: float = 1.0, depths: dict[str, int] | None = None) -> dict:
    """Who answers, what each uses and consumes, compared with this process; SPLIT on any disagreement."""
    from backend.celery import app, live_mode

    own = live_mode()
    here = _answers(app.control.broadcast("live_mode", reply=True, timeout=timeout))
    elsewhere = _workers_on_the_other_broker(own, timeout)
    if not here and not elsewhere:
        raise RuntimeError(f"no worker answered a ping within {timeout}s")
    problems = []
    for name, mode in sorted(here.items()):
        if not isinstance(mode, dict) or "broker" not in mode:
            problems.append(f"{name} did not say which broker and cache it uses")
            continue
        for key in COMPARED:
            if mode.get(key) != own.get(key):
                problems.append(f"{name} uses {key} {mode.get(key)!r}, this process {own.get(key)!r}")
    for url, names in elsewhere.items():
        problems.append(
            f"{', '.join(sorted(names))} consume{'s' if len(names) == 1 else ''} {url}, not this "
            f"process's broker {own['broker']}"
        )
    consumed = {queue for mode in here.values() if isinstance(mode, dict) for queue in mode.get("queues", ())}
    for queue, ready in sorted((depths or {}).items()):
        if ready and queue not in consumed:
            problems.append(f"queue {queue!r} has {ready} ready message(s) and no worker consumes it")
    result = {
        "answered": len(here),
        "workers": sorted(here),
        "modes": {
            name: {key: mode.get(key) for key in (*COMPARED, "queues")}
            for name, mode in here.items()
            if isinstance(mode, dict)
        },
    }
    if problems:
        result.update(status=SPLIT, problems=problems)
        logger.error("Health check: split: %s", "; ".join(problems))
    return result


def _answers(replies) -> dict:
    return {name: mode for reply in replies or () for name, mode in reply.items()}


def _workers_on_the_other_broker(own: dict, timeout: float) -> dict[str, list[str]]:
    """Workers that answer on the broker this process did not choose (the embedded default's two choices)."""
    from kombu import Connection
    from kombu.pidbox import Mailbox
    from kombu.utils.url import maybe_sanitize_url

    from backend.celery import app
    from core.broker.probe import redis_answers

    if own["broker"].startswith("redis"):
        other = "django://"
    elif own["broker"].startswith("django") and redis_answers(settings.REDIS_URL, timeout=0.3):
        other = settings.REDIS_URL
    else:
        return {}
    # kombu's mailbox on a connection of its own: app.control publishes through the app's producer pool
    # whatever connection it is given, and CELERY_BROKER_URL in the environment overrides any other app's
    # broker_url, so neither can broadcast on the other broker. Same exchange and format as Celery's.
    mailbox = Mailbox(app.conf.control_exchange, type="fanout", accept=["json"], serializer="json")
    try:
        with Connection(other, connect_timeout=2) as conn:
            replies = mailbox(conn)._broadcast("live_mode", {}, None, reply=True, timeout=timeout)
        names = sorted(_answers(replies))
    except Exception as exc:  # the other broker is not there at all: nobody can consume it
        logger.debug("other broker %s not reachable: %s", maybe_sanitize_url(other), exc)
        return {}
    return {maybe_sanitize_url(other): names} if names else {}


def check_dead_letters() -> dict:
    """django:// messages that were delivered CELERY_BROKER_MAX_DELIVERIES times and parked: each is a
    task that did not run, for an operator to requeue or delete (the table is empty on other brokers)."""
    from core.broker.dead_letters import dead_letter_count

    count = dead_letter_count()
    if count:
        raise RuntimeError(f"{count} message(s) in the dead-letter table: requeue or delete them in the admin")
    return {"count": 0}


def check_disk() -> dict:
    usage = shutil.disk_usage(settings.DATA_DIR)
    free_mb = usage.free // (1024 * 1024)
    minimum = settings.HEALTH_MIN_FREE_DISK_MB
    if free_mb < minimum:
        raise RuntimeError(f"{free_mb} MB free under the data folder, below the {minimum} MB minimum")
    return {"free_mb": free_mb, "free_percent": round(100 * usage.free / usage.total, 1)}


def check_worker_answers(timeout: float = 1.0) -> dict:
    """Some worker answers a ping (for /health/ready: the first answer is enough, no comparison)."""
    from backend.celery import app

    replies = app.control.ping(timeout=timeout, limit=1)
    if not replies:
        raise HealthFinding(f"no worker answered a ping within {timeout}s")
    return {"summary": f"{next(iter(replies[0]))} answered"}


def check_beat() -> dict:
    """Each enabled periodic task ran when it was due, give or take HEALTH_BEAT_GRACE_SECONDS.

    Read from django-celery-beat's rows: `last_run_at` and the schedule give when the task was next due
    (a task that never ran counts from when its row last changed, as beat itself does). Beat writes
    `last_run_at` back about every 3 minutes, so the grace must be longer than that. A beat that died, is
    held as a standby for good, or cannot reach the database, shows here as the tasks it did not send.
    """
    from django_celery_beat.models import PeriodicTask

    now = timezone.now()
    grace = settings.HEALTH_BEAT_GRACE_SECONDS
    overdue, watched = [], 0
    rows = PeriodicTask.objects.filter(enabled=True).select_related("interval", "crontab", "solar", "clocked")
    for task in rows.order_by("name"):
        if (task.one_off and task.total_run_count) or (task.expires and task.expires <= now):
            continue  # beat disables these itself
        if task.start_time and task.start_time > now:
            continue
        try:
            schedule = task.schedule
        except AttributeError:  # a row without any schedule: beat cannot run it either
            overdue.append(f"{task.name} has no schedule")
            continue
        watched += 1
        since = task.last_run_at or max(t for t in (task.date_changed, task.start_time) if t)
        late = -schedule.remaining_estimate(since).total_seconds()  # seconds past the next due time
        if late > grace:
            due = now - timedelta(seconds=late)
            overdue.append(
                f"{task.name} was due at {due:%Y-%m-%d %H:%M} UTC ({late / 60:.0f} min ago), last ran "
                + (f"{task.last_run_at:%Y-%m-%d %H:%M} UTC" if task.last_run_at else "never")
            )
    if overdue:
        raise HealthFinding(f"beat: {len(overdue)} periodic task(s) did not run when due: " + "; ".join(overdue))
    return {"summary": f"{watched} periodic tasks on time", "tasks": watched}


def check_queues() -> dict:
    """No ready message has waited longer than HEALTH_QUEUE_MAX_AGE_SECONDS (a queue nobody keeps up with)."""
    from core.queues import queue_stats

    stats = queue_stats(settings.TASK_QUEUE_NAMES)
    limit = settings.HEALTH_QUEUE_MAX_AGE_SECONDS
    late = [
        f"{queue}: the oldest of {s['depth']} ready message(s) has waited {s['oldest_age_seconds']:.0f} s"
        for queue, s in stats.items()
        if (s["oldest_age_seconds"] or 0) > limit
    ]
    if late:
        raise HealthFinding(f"messages waiting longer than {limit} s: " + "; ".join(late))
    waiting = ", ".join(f"{queue} {s['depth']}" for queue, s in stats.items() if s["depth"]) or "none"
    return {"summary": f"ready messages: {waiting}", "queues": stats}


# --- hooks the domain apps register (core imports none of them) -----------------------------------

_registered_checks: dict[str, Callable[[], dict]] = {}
_alert_channels: list[Callable[..., int]] = []


def register_check(name: str, check: Callable[[], dict]) -> None:
    """Add a component to every full health run (from an AppConfig.ready()).

    `check()` returns a dict of details (a "summary" string is shown as the detail) and raises
    HealthFinding with a sentence naming what is wrong (ids and counts only: no personal data).
    """
    _registered_checks[name] = check


def register_alert_channel(send: Callable[..., int]) -> None:
    """`send(subject=..., body=..., key=...)` delivers an alert to the admins; returns how many messages."""
    if send not in _alert_channels:
        _alert_channels.append(send)


# --- running them ---------------------------------------------------------------------------------

PLATFORM_CHECKS = ("database", "cache", "broker", "disk", "dead_letters")  # /health/ (as before issue 11)
READY_CHECKS = ("database", "cache", "broker", "workers")  # /health/ready
HEALTH_CHECK_TASK = "core.tasks.health_check"


def run_health_checks(
    *,
    ping_workers: bool = True,
    ping_timeout: float = 1.0,
    only: Iterable[str] | None = None,
    store: bool | None = None,
) -> dict:
    """Run the checks; `healthy` is true only when all of them are up.

    `only` names the components to run (default: every one, the registered domain checks included;
    "workers" only with `ping_workers`). `store` keeps the run as a HealthCheckRun and alerts the admins
    on a change; by default only the health_check task stores (the HTTP endpoints, `manage.py health` and
    /metrics look without leaving a trace).
    """
    started_at, started = timezone.now(), time.perf_counter()
    wanted = set(only) if only is not None else None

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    plan: dict[str, Callable[[], dict]] = {
        "database": check_database,
        "cache": check_cache,
        "broker": check_broker,
        "disk": check_disk,
        "dead_letters": check_dead_letters,
        "beat": check_beat,
        "queues": check_queues,
        **_registered_checks,
    }
    checks = {}
    for name, check in plan.items():
        if not want(name):
            continue
        if name == "queues" and checks.get("broker", {}).get("status") == DOWN:
            # Asking a broker that just failed again would only wait out a second connection timeout.
            checks[name] = {"status": DOWN, "error": "not checked: the broker is down", "latency_ms": 0.0}
            continue
        checks[name] = _timed(check)
    if ping_workers and want("workers"):
        if wanted is not None and wanted <= set(READY_CHECKS):  # readiness: one answer is enough
            checks["workers"] = _timed(lambda: check_worker_answers(ping_timeout))
        else:
            depths = checks.get("broker", {}).get("queues")
            checks["workers"] = _timed(lambda: check_workers(ping_timeout, depths))
    healthy = all(check["status"] == UP for check in checks.values())
    if not healthy:
        down = sorted(f"{name} ({check['status']})" for name, check in checks.items() if check["status"] != UP)
        logger.warning("Health check: not up: %s", ", ".join(down))
    summary = {"healthy": healthy, "checked_at": time.time(), "checks": checks}
    if store if store is not None else _run_by_the_health_check_task():
        try:
            run = health_run_store(summary, started_at=started_at, duration_ms=(time.perf_counter() - started) * 1000)
            summary["run_id"] = run.id
        except Exception:  # the database is down: the summary says so; the task must not fail
            logger.exception("Health check: the run could not be stored")
    return summary


def _run_by_the_health_check_task() -> bool:
    from celery import current_task

    return bool(current_task) and current_task.name == HEALTH_CHECK_TASK


def components_of(summary: dict) -> dict[str, dict]:
    """{name: {"ok", "latency_ms", "detail"}}: what is stored, shown and read by /metrics."""
    return {
        name: {
            "ok": check["status"] == UP,
            "latency_ms": float(check.get("latency_ms") or 0.0),
            "detail": _detail(check),
        }
        for name, check in summary["checks"].items()
    }


def _detail(check: dict) -> str:
    if check.get("error"):
        return check["error"]
    if check.get("problems"):
        return "; ".join(check["problems"])
    if check.get("summary"):
        return str(check["summary"])
    return ", ".join(
        f"{key} {value}"
        for key, value in check.items()
        if key not in ("status", "latency_ms") and isinstance(value, str | int | float)
    )[:500]


# --- stored runs and alerts -----------------------------------------------------------------------


def health_run_store(summary: dict, *, started_at, duration_ms: float):
    """Store the run; when the status changed since the previous stored run, alert the admins once.

    Overlapping runs are serialised by locking the newest stored run (SELECT ... FOR UPDATE) and checking
    that it is still the newest once the lock is ours: a run that committed in between is locked next.
    So each run compares with the one stored just before it, and a change is alerted exactly once.
    (SQLite: every transaction takes the write lock at BEGIN, settings' transaction_mode IMMEDIATE.)
    The newest run is never pruned, so there is always a row to lock after the first one.
    """
    from core.models import HealthCheckRun

    status = HealthCheckRun.Status.HEALTHY if summary["healthy"] else HealthCheckRun.Status.UNHEALTHY
    with transaction.atomic():
        previous = None
        while True:
            locked = HealthCheckRun.objects.select_for_update().order_by("-id").first()
            newest = HealthCheckRun.objects.order_by("-id").values_list("id", flat=True).first()
            if locked is None or locked.id == newest:
                previous = locked
                break
        was_healthy = previous is None or previous.status == HealthCheckRun.Status.HEALTHY
        # A gap: no run was stored for a while. Whatever stopped them (beat, the monitoring worker, the
        # database, where the outbox lives too) could not be e-mailed about while it lasted; say so now.
        gap_since = None
        gap_limit = timedelta(seconds=settings.HEALTH_RUN_GAP_SECONDS)
        if previous is not None and started_at - previous.started_at > gap_limit:
            gap_since = previous.started_at
        alert = HealthCheckRun.Alert.NONE
        if was_healthy and status == HealthCheckRun.Status.UNHEALTHY:
            alert = HealthCheckRun.Alert.DOWN
        elif not was_healthy and status == HealthCheckRun.Status.HEALTHY:
            alert = HealthCheckRun.Alert.RECOVERED
        elif gap_since and status == HealthCheckRun.Status.HEALTHY:
            alert = HealthCheckRun.Alert.RESUMED
        run = HealthCheckRun.objects.create(
            started_at=started_at,
            finished_at=timezone.now(),
            duration_ms=round(duration_ms, 2),
            status=status,
            components=components_of(summary),
            alert=alert,
        )
        if alert:
            _alert(run, gap_since=gap_since)
    return run


def _alert(run, *, gap_since=None) -> None:
    """E-mail the admins through the registered channel (the notifications outbox), in the run's transaction:
    the e-mail exists if and only if the run that decided to send it does."""
    down = run.down
    if run.alert == run.Alert.DOWN:
        subject = f"Health: unhealthy - {', '.join(down)} down"
        lines = [
            f"The back office turned unhealthy at {run.finished_at:%Y-%m-%d %H:%M:%S} UTC "
            f"(health check run {run.id}). Not up:",
            "",
        ]
        lines += [f"- {name}: {run.components[name]['detail']}" for name in down]
        lines += ["", "You get one more e-mail when every component is up again, and none in between."]
    elif run.alert == run.Alert.RECOVERED:
        subject = "Health: recovered - every component is up"
        lines = [
            f"The back office is healthy again at {run.finished_at:%Y-%m-%d %H:%M:%S} UTC "
            f"(health check run {run.id}); every component is up."
        ]
    else:
        minutes = (run.started_at - gap_since).total_seconds() / 60
        subject = f"Health: checks resumed after {minutes:.0f} min without one"
        lines = [f"Health check run {run.id} at {run.finished_at:%Y-%m-%d %H:%M:%S} UTC finds every component up."]
    if gap_since is not None:
        lines += [
            "",
            f"No health check was stored between {gap_since:%Y-%m-%d %H:%M} UTC and this run: beat, the "
            "monitoring queue's worker or the database was not running, and nobody was told.",
        ]
    lines += ["", "Every run: admin > Task platform > Health check runs; `python manage.py health` at a terminal."]
    if not _alert_channels:
        logger.error("Health check: %s, but no alert channel is registered: nobody is told", subject)
        return
    for send in _alert_channels:
        sent = send(subject=subject, body="\n".join(lines), key=f"health-alert:run-{run.id}")
        logger.warning("Health check run %s: %s (%s e-mail(s) queued)", run.id, subject, sent)


def health_runs_prune(*, batch_size: int = 5000) -> int:
    """Delete stored runs older than HEALTH_RUN_RETENTION_DAYS, `batch_size` rows per statement (short
    locks); never the newest run, which the next run compares with. Returns how many were deleted."""
    from core.models import HealthCheckRun

    cutoff = timezone.now() - timedelta(days=settings.HEALTH_RUN_RETENTION_DAYS)
    newest = HealthCheckRun.objects.order_by("-id").values_list("id", flat=True).first()
    deleted = 0
    while True:
        ids = list(
            HealthCheckRun.objects.filter(started_at__lt=cutoff)
            .exclude(id=newest)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        deleted += HealthCheckRun.objects.filter(id__in=ids).delete()[0]
