"""The admin home page as an operations dashboard (issue 11).

What an operator looks at first: queue depths and the age of the oldest waiting message, the workers
that answer, the last stored health run with its components, today's claims by outcome, running bulk
jobs with progress bars, failed e-mails and dead-lettered messages. Counts and ids only: nothing on
this page is personal, so every staff user sees it; the links lead to admin lists that check each
user's permissions as usual.

It lives in `backend` (the project), not in `core`: it is the one place that looks at every app.
The page renders what the database says at once; the live parts (queues, workers, bulk jobs) are
fetched from `dashboard.json` every few seconds by the page's script, so a bar moves without a reload.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.db.models import Count
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 5
PING_TIMEOUT = 0.5  # seconds the page waits for workers' replies on each refresh


def live_snapshot(*, ping_workers: bool = True) -> dict:
    """Queues, workers and running bulk jobs: the parts that move while an operator watches.

    The page itself is rendered without pinging workers (`workers` None: "asking..."), so it never
    waits on them; its script asks at once and then every REFRESH_SECONDS.
    """
    from backend.celery import app
    from claims.models import BulkClaimJob
    from core.queues import queue_stats

    try:
        queues = queue_stats()
        queues_error = ""
    except Exception as exc:  # the broker is down: say so on the page, never fail it
        logger.warning("dashboard: queue statistics failed: %s", exc)
        queues, queues_error = {}, f"broker unreachable ({type(exc).__name__})"
    workers = None
    if ping_workers:
        try:
            workers = sorted(name for reply in app.control.ping(timeout=PING_TIMEOUT) or [] for name in reply)
        except Exception as exc:
            logger.warning("dashboard: worker ping failed: %s", exc)
            workers = []
    jobs = [
        {
            "id": job.id,
            "done": job.done,
            "total": job.total,
            "percent": round(100 * job.done / job.total) if job.total else 0,
            "chunks": f"{job.chunks_done}/{job.chunks_total}",
            "started_at": job.started_at.isoformat() if job.started_at else None,
        }
        for job in BulkClaimJob.objects.filter(status=BulkClaimJob.Status.RUNNING).order_by("id")[:20]
    ]
    return {
        "queues": [
            {"name": name, "depth": stats["depth"], "oldest_age_seconds": stats["oldest_age_seconds"]}
            for name, stats in sorted(queues.items())
        ],
        "queues_error": queues_error,
        "workers": workers,
        "bulk_jobs": jobs,
        "at": timezone.now().isoformat(),
    }


def stored_snapshot() -> dict:
    """The last health run, today's claims by outcome, failed e-mails and dead letters (database only)."""
    from claims.models import Claim
    from core.broker.models import DeadLetter
    from core.models import HealthCheckRun
    from notifications.models import Notification

    run = HealthCheckRun.objects.order_by("-id").first()
    start_of_day = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    outcomes = dict(Claim.objects.filter(decided_at__gte=start_of_day).values_list("status").annotate(n=Count("id")))
    failed = Notification.objects.filter(status=Notification.Status.FAILED)
    return {
        "health": run
        and {
            "id": run.id,
            "status": run.status,
            "started_at": run.started_at,
            "components": sorted(run.components.items()),
        },
        "claims_today": [(label, outcomes.get(value, 0)) for value, label in Claim.Status.choices],
        "claims_pending": Claim.objects.filter(status=Claim.Status.PENDING).count(),
        "claims_pended": Claim.objects.filter(status=Claim.Status.PENDED).count(),  # the assessor's queue
        "notifications_failed": failed.count(),
        "notifications_failed_today": failed.filter(updated_at__gte=timezone.now() - timedelta(days=1)).count(),
        "notifications_queued": Notification.objects.filter(status=Notification.Status.QUEUED).count(),
        "dead_letters": DeadLetter.objects.count(),
    }


class OperationsAdminSite(admin.AdminSite):
    """Django's admin with the dashboard on its home page (the app list stays below it)."""

    index_template = "admin/operations_index.html"

    def index(self, request, extra_context=None):
        context = {
            "dashboard": stored_snapshot(),
            "live": live_snapshot(ping_workers=False),
            "refresh_seconds": REFRESH_SECONDS,
            **(extra_context or {}),
        }
        return super().index(request, context)

    def get_urls(self):
        return [
            path("dashboard.json", self.admin_view(self.dashboard_json), name="dashboard_json"),
            *super().get_urls(),
        ]

    def dashboard_json(self, request):
        return JsonResponse(live_snapshot())


class OperationsAdminConfig(AdminConfig):
    """In INSTALLED_APPS instead of "django.contrib.admin": `admin.site` is the operations site."""

    default_site = "backend.dashboard.OperationsAdminSite"
