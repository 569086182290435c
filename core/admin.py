from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html_join

from .models import BeatLock, HealthCheckRun


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows a service writes: to read, never to edit by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BeatLock)
class BeatLockAdmin(ReadOnlyAdmin):
    """Who runs beat: the holder renews its lease; a second beat waits as a standby (core/beat_lock.py).

    Read-only: the lease is the beats' business. To hand over at once, stop the holding beat cleanly
    (SIGTERM); it releases the lock and the standby takes it within a few seconds.
    """

    list_display = ("name", "held", "host", "pid", "acquired_at", "renewed_at", "expires_at")
    readonly_fields = ("name", "holder", "host", "pid", "acquired_at", "renewed_at", "expires_at")

    @admin.display(boolean=True, description="held")
    def held(self, obj: BeatLock) -> bool:
        # A lease that ran out without a release (its beat died) counts as free: a standby may take it.
        return bool(obj.holder) and obj.expires_at > timezone.now()


@admin.register(HealthCheckRun)
class HealthCheckRunAdmin(ReadOnlyAdmin):
    """Every stored run of the health_check task (kept HEALTH_RUN_RETENTION_DAYS): what was down, and when
    the admins were e-mailed. Read-only: a run is a record of what was seen."""

    list_display = ("started_at", "status", "down_components", "alert", "duration_ms")
    list_filter = ("status", "alert")
    date_hierarchy = "started_at"
    fields = ("started_at", "finished_at", "duration_ms", "status", "alert", "component_table")
    readonly_fields = fields

    @admin.display(description="not up")
    def down_components(self, obj: HealthCheckRun) -> str:
        return ", ".join(obj.down) or "-"

    @admin.display(description="components")
    def component_table(self, obj: HealthCheckRun):
        rows = (
            (name, "up" if c.get("ok") else "DOWN", c.get("latency_ms"), c.get("detail", ""))
            for name, c in sorted(obj.components.items())
        )
        return format_html_join("\n", "<div><b>{}</b>: {} ({} ms) {}</div>", rows)
