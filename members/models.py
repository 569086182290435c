"""Schemes, benefit plans and their categories, members and dependants, waiting periods."""

from decimal import Decimal

from django.db import models

MONEY = {"max_digits": 12, "decimal_places": 2}


class BenefitCode(models.TextChoices):
    GP = "GP", "General practitioner"
    SPECIALIST = "SPECIALIST", "Specialist"
    HOSPITAL = "HOSPITAL", "Hospital"
    CHRONIC = "CHRONIC", "Chronic medication"
    OPTICAL = "OPTICAL", "Optical"
    DENTISTRY = "DENTISTRY", "Dentistry"
    PATHOLOGY = "PATHOLOGY", "Pathology"
    RADIOLOGY = "RADIOLOGY", "Radiology"


class Scheme(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class Plan(models.Model):
    """A benefit option for one benefit year (e.g. 'Classic 2026')."""

    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="plans")
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    year = models.PositiveSmallIntegerField()
    effective_from = models.DateField()
    effective_to = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scheme", "code", "year"], name="plan_unique_per_year")]

    def __str__(self) -> str:
        return f"{self.name} {self.year}"


class BenefitCategory(models.Model):
    """What a plan pays for one kind of service; limits are per benefit year, None = unlimited."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="benefits")
    code = models.CharField(max_length=20, choices=BenefitCode.choices)
    annual_limit_member = models.DecimalField(**MONEY, null=True, blank=True)
    annual_limit_family = models.DecimalField(**MONEY, null=True, blank=True)
    copay_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    per_event_cap = models.DecimalField(**MONEY, null=True, blank=True)
    requires_preauth = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "benefit categories"
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="benefit_unique_per_plan")]

    def __str__(self) -> str:
        return f"{self.plan} {self.code}"


class Member(models.Model):
    """A principal member (dependant code 00) or a dependant who shares the principal's family limits."""

    class Relationship(models.TextChoices):
        PRINCIPAL = "principal", "Principal member"
        SPOUSE = "spouse", "Spouse or partner"
        CHILD = "child", "Child"
        ADULT = "adult", "Adult dependant"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        TERMINATED = "terminated", "Terminated"

    class Gender(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        OTHER = "X", "Other / unspecified"

    membership_number = models.CharField(max_length=20, db_index=True, help_text="shared by the whole family")
    dependant_code = models.CharField(max_length=2, default="00")
    principal = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="dependants",
        help_text="empty for the principal member",
    )  # fmt: skip
    relationship = models.CharField(max_length=12, choices=Relationship.choices, default=Relationship.PRINCIPAL)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="members")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    gender = models.CharField(max_length=1, choices=Gender.choices, default=Gender.OTHER)
    email = models.EmailField(blank=True, help_text="the principal member's; claim decisions go here")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    status_since = models.DateField(help_text="the date the current status took effect")
    join_date = models.DateField()
    cover_start = models.DateField()
    cover_end = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership_number", "dependant_code"], name="member_unique_dependant")
        ]

    def __str__(self) -> str:
        return f"{self.membership_number}-{self.dependant_code}"

    @property
    def family_id(self) -> int:
        """The principal's id: the unit that shares family limits and is adjudicated in one place."""
        return self.principal_id or self.id


class WaitingPeriod(models.Model):
    """No benefit during [start, end]: for everything (general), a diagnosis (ICD-10 prefix) or a category."""

    class Kind(models.TextChoices):
        GENERAL = "general", "General"
        CONDITION = "condition", "Condition-specific (ICD-10)"
        CATEGORY = "category", "Benefit category"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="waiting_periods")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    icd10_prefix = models.CharField(max_length=8, blank=True)
    benefit_code = models.CharField(max_length=20, choices=BenefitCode.choices, blank=True)
    start = models.DateField()
    end = models.DateField()

    def __str__(self) -> str:
        return f"{self.member} {self.kind} {self.start}..{self.end}"
