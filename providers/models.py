"""Healthcare providers, identified by their practice number."""

from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords


class Provider(models.Model):
    class Discipline(models.TextChoices):
        GP = "gp", "General practitioner"
        SPECIALIST = "specialist", "Specialist"
        HOSPITAL = "hospital", "Hospital"
        PHARMACY = "pharmacy", "Pharmacy"
        OPTOMETRIST = "optometrist", "Optometrist"
        DENTIST = "dentist", "Dentist"
        PATHOLOGY = "pathology", "Pathology laboratory"
        RADIOLOGY = "radiology", "Radiology practice"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    practice_number = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    discipline = models.CharField(max_length=20, choices=Discipline.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    history = HistoricalRecords()  # audit trail of admin edits (issue 11); bulk writes bypass it

    def __str__(self) -> str:
        return f"{self.practice_number} {self.name}"


class ProviderStatusPeriod(models.Model):
    """A provider's status from one date to another (issue 13): services before a suspension are paid.

    Outside every period the provider is active; a provider with no periods at all is judged by its
    `status` field on every date, as before. Provider.status stays today's state (providers.services).
    """

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="status_periods")
    status = models.CharField(max_length=10, choices=Provider.Status.choices, default=Provider.Status.SUSPENDED)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="empty while the period is open")
    history = HistoricalRecords()

    class Meta:
        ordering = ("provider", "valid_from")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="provider_period_in_order",
                violation_error_message="A status period cannot end before it starts.",
            ),
            models.UniqueConstraint(fields=["provider", "valid_from"], name="provider_period_unique_start"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id} {self.status} {self.valid_from}..{self.valid_to or ''}"
