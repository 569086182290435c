"""Healthcare providers, identified by their practice number."""

from django.db import models
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
