from django.contrib import admin
from django.utils import timezone

from .models import BeatLock


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
