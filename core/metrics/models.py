"""Task counts and runtimes written by the workers, read by /metrics at scrape time."""

from django.db import models


class TaskStat(models.Model):
    """Tasks of one name that ended in one state with a runtime in one histogram bucket, since ever.

    A handful of rows per task name (states x buckets), only ever incremented, so Prometheus can treat
    the sums as counters. Task names and Celery states only: no arguments, no results.
    """

    task_name = models.CharField(max_length=200)
    state = models.CharField(max_length=20, help_text="Celery state at the end of the run: SUCCESS, FAILURE, RETRY…")
    le = models.CharField(max_length=20, help_text="the runtime bucket's upper bound in seconds, or +Inf")
    count = models.BigIntegerField(default=0)
    seconds = models.FloatField(default=0, help_text="summed runtime of the runs counted here")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task_name", "state", "le"], name="taskstat_unique_key")]

    def __str__(self) -> str:
        return f"{self.task_name} {self.state} le={self.le}: {self.count}"
