"""Tables of the task platform itself (the django:// broker's are in core/broker/)."""

from django.db import models


class BeatLock(models.Model):
    """The lease that lets exactly one `celery beat` send periodic tasks (core/beat_lock.py).

    The holder renews `expires_at` while it runs; every write names its `holder` token, so a beat
    whose lease ran out cannot take it back from the one that holds it now. Times are the
    database's clock (`Now()`), whatever host a beat runs on.
    """

    name = models.CharField(max_length=100, unique=True)
    holder = models.CharField(max_length=64, blank=True, help_text="token of the holding beat; empty = free")
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="a standby takes the lock after this")

    class Meta:
        db_table = "core_beat_lock"

    def __str__(self) -> str:
        return f"{self.name}: {self.host}:{self.pid}" if self.holder else f"{self.name}: free"


class HealthCheckRun(models.Model):
    """One run of the health_check task, kept HEALTH_RUN_RETENTION_DAYS (core.health.health_runs_prune).

    `components` is {name: {"ok": bool, "latency_ms": float, "detail": str}} (/metrics reads exactly those
    keys). The newest run is what the next one compares with: a change of `status` e-mails the admins
    once (`alert` says which e-mail this run sent).
    """

    class Status(models.TextChoices):
        HEALTHY = "healthy", "Healthy"
        UNHEALTHY = "unhealthy", "Unhealthy"

    class Alert(models.TextChoices):
        NONE = "", "None"
        DOWN = "down", "Turned unhealthy"
        RECOVERED = "recovered", "Recovered"
        RESUMED = "resumed", "Checks resumed after a gap"

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    duration_ms = models.FloatField()
    status = models.CharField(max_length=10, choices=Status.choices)
    components = models.JSONField(default=dict)
    alert = models.CharField(max_length=10, choices=Alert.choices, blank=True, default=Alert.NONE)

    class Meta:
        db_table = "core_health_check_run"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Health check {self.pk} ({self.status})"

    @property
    def down(self) -> list[str]:
        """Names of the components that were not ok."""
        return sorted(name for name, component in self.components.items() if not component.get("ok"))
