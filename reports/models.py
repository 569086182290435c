"""One summary of one UTC day of claims: headline figures as columns (list, chart), the breakdowns as JSON."""

from django.db import models

from members.models import MONEY


class DailyReport(models.Model):
    """Unique per day: regenerating a day replaces its row (DESIGN.md, "Tasks are idempotent")."""

    day = models.DateField(unique=True, help_text="the UTC day summarised")
    generated_at = models.DateTimeField()
    claims_received = models.PositiveIntegerField(default=0)
    claims_decided = models.PositiveIntegerField(default=0)
    approved = models.PositiveIntegerField(default=0)
    partially_approved = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    pended = models.PositiveIntegerField(default=0, help_text="claims left for an assessor that day")
    submitted_total = models.DecimalField(**MONEY, default=0, help_text="claimed on the claims decided")
    eligible_total = models.DecimalField(**MONEY, default=0)
    copay_total = models.DecimalField(**MONEY, default=0)
    benefit_total = models.DecimalField(**MONEY, default=0)
    avg_decision_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="receipt to decision")
    p95_decision_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="nearest rank")
    bulk_jobs = models.PositiveIntegerField(default=0, help_text="bulk adjudication jobs started that day")
    content = models.JSONField(default=dict, help_text="the breakdowns: by outcome, plan, discipline; top lists")
    generation_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"Claims report {self.day}"
