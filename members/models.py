"""Schemes, benefit plans and their categories, members and dependants, waiting periods."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

MONEY = {"max_digits": 12, "decimal_places": 2}
# Form-level twin of the CheckConstraints: the message on the field in the admin.
NOT_NEGATIVE = [MinValueValidator(Decimal("0"), "Enter 0 or more (leave empty for no limit).")]


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
    history = HistoricalRecords()  # audit trail of admin edits (issue 11); bulk writes bypass it

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scheme", "code", "year"], name="plan_unique_per_year")]

    def __str__(self) -> str:
        return f"{self.name} {self.year}"


class BenefitCategory(models.Model):
    """What a plan pays for one kind of service; limits are per benefit year, None = unlimited."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="benefits")
    code = models.CharField(max_length=20, choices=BenefitCode.choices)
    annual_limit_member = models.DecimalField(**MONEY, null=True, blank=True, validators=NOT_NEGATIVE)
    annual_limit_family = models.DecimalField(**MONEY, null=True, blank=True, validators=NOT_NEGATIVE)
    copay_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[
            MinValueValidator(0, "Enter a percentage from 0 to 100."),
            MaxValueValidator(100, "Enter a percentage from 0 to 100."),
        ],
    )
    per_event_cap = models.DecimalField(**MONEY, null=True, blank=True, validators=NOT_NEGATIVE)
    requires_preauth = models.BooleanField(default=False)
    review_threshold = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        validators=NOT_NEGATIVE,
        help_text="a line claiming more than this waits for an assessor (pended); empty = never",
    )
    history = HistoricalRecords()  # audit trail of admin edits (issue 11); bulk writes bypass it

    class Meta:
        verbose_name_plural = "benefit categories"
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="benefit_unique_per_plan"),
            models.CheckConstraint(
                condition=Q(copay_percent__gte=0, copay_percent__lte=100),
                name="benefit_copay_percent_0_100",
                violation_error_message="The co-payment must be a percentage from 0 to 100.",
            ),
            models.CheckConstraint(
                condition=(Q(annual_limit_member__isnull=True) | Q(annual_limit_member__gte=0))
                & (Q(annual_limit_family__isnull=True) | Q(annual_limit_family__gte=0))
                & (Q(per_event_cap__isnull=True) | Q(per_event_cap__gte=0)),
                name="benefit_limits_not_negative",
                violation_error_message="Limits and the per-event cap must be 0 or more (empty for no limit).",
            ),
        ]

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
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dependants",
        help_text="empty for the principal member",
    )
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
    history = HistoricalRecords()  # audit trail of admin edits (issue 11); bulk writes bypass it

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

    def clean(self):
        """A family is on one plan option (issue 13): its limits are the plan's family limits, one set for all."""
        if self.plan_id is None:
            return
        if self.principal_id is not None:
            principal_plan = Member.objects.filter(id=self.principal_id).values_list("plan_id", flat=True).first()
            if principal_plan is not None and principal_plan != self.plan_id:
                raise ValidationError({"plan": "A dependant is on the principal member's plan option."})
        elif self.pk is not None and Member.objects.filter(principal_id=self.pk).exclude(plan_id=self.plan_id).exists():
            raise ValidationError(
                {
                    "plan": "The dependants are on another plan option: a family changes plan together "
                    "(members.services.family_plan_change)."
                }
            )


class MembershipPeriod(models.Model):
    """Cover as it was from one date to another: status and plan option (issue 13).

    Adjudication reads the period in force on the service date, so a December claim decided in January
    is paid by the December plan and a service during a suspension stays rejected after reinstatement.
    A plan change at a benefit-year boundary, a suspension and a reinstatement each start a new period.
    Member.plan/status/status_since stay as today's state, kept in step by members.services.
    """

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="periods")
    status = models.CharField(max_length=12, choices=Member.Status.choices, default=Member.Status.ACTIVE)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="membership_periods")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="empty while the period is open")
    history = HistoricalRecords()

    class Meta:
        ordering = ("member", "valid_from")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="membership_period_in_order",
                violation_error_message="A membership period cannot end before it starts.",
            ),
            models.UniqueConstraint(fields=["member", "valid_from"], name="membership_period_unique_start"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.status} {self.valid_from}..{self.valid_to or ''}"

    def clean(self):
        """Dates in order, no overlap with the member's other periods, and the principal's plan for a dependant."""
        if self.valid_from is None or self.member_id is None:
            return
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": "A membership period cannot end before it starts."})
        # The admin's inline checks overlaps among the rows as submitted (closing one period and opening the
        # next in one save), where the stored rows would still overlap; it sets skip_overlap_check.
        others = MembershipPeriod.objects.filter(member_id=self.member_id).exclude(pk=self.pk)
        if self.valid_to is not None:
            others = others.filter(valid_from__lte=self.valid_to)
        if (
            not getattr(self, "skip_overlap_check", False)
            and others.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=self.valid_from)).exists()
        ):
            raise ValidationError({"valid_from": "This period overlaps another period of the member."})
        principal_id = Member.objects.filter(id=self.member_id).values_list("principal_id", flat=True).first()
        if principal_id is not None and self.plan_id is not None:
            overlapping = MembershipPeriod.objects.filter(member_id=principal_id).filter(
                Q(valid_to__isnull=True) | Q(valid_to__gte=self.valid_from)
            )
            if self.valid_to is not None:
                overlapping = overlapping.filter(valid_from__lte=self.valid_to)
            if overlapping.exclude(plan_id=self.plan_id).exists():
                raise ValidationError({"plan": "A dependant is on the principal member's plan option."})


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

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=F("start")),
                name="waiting_dates_in_order",
                violation_error_message="A waiting period cannot end before it starts.",
            ),
            # A condition period without its diagnosis, or a category one without its benefit, would match
            # nothing (or, for a condition, every diagnosis: "" is a prefix of all of them).
            models.CheckConstraint(
                condition=~Q(kind="condition") | ~Q(icd10_prefix=""),
                name="waiting_condition_has_icd10",
                violation_error_message="A condition waiting period needs an ICD-10 prefix.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="category") | ~Q(benefit_code=""),
                name="waiting_category_has_benefit",
                violation_error_message="A category waiting period needs a benefit code.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.kind} {self.start}..{self.end}"

    def clean(self):
        """The constraints' rules again, as field errors (the constraints' own errors would be form-wide)."""
        errors = {}
        if self.start is not None and self.end is not None and self.end < self.start:
            errors["end"] = "A waiting period cannot end before it starts."
        if self.kind == self.Kind.CONDITION and not (self.icd10_prefix or "").strip():
            errors["icd10_prefix"] = "A condition waiting period needs an ICD-10 prefix."
        if self.kind == self.Kind.CATEGORY and not self.benefit_code:
            errors["benefit_code"] = "A category waiting period needs a benefit code."
        if errors:
            raise ValidationError(errors)
