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
