"""Tariffs, pre-authorisations, claims with their lines and adjudication, the benefit ledger, bulk jobs."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from members.models import MONEY, BenefitCode, Member

# Form-level twins of the CheckConstraints below: they put the message on the field in the admin.
POSITIVE_MONEY = [MinValueValidator(Decimal("0.01"), "Enter an amount of at least 0.01.")]
NOT_NEGATIVE_MONEY = [MinValueValidator(Decimal("0"), "Enter an amount of 0 or more.")]


def check_dates(instance, start: str, end: str, message: str) -> None:
    """Model.clean() for `end >= start`, as a field error on `end` (the CheckConstraint's would be form-wide)."""
    first, last = getattr(instance, start), getattr(instance, end)
    if first is not None and last is not None and last < first:
        raise ValidationError({end: message})


class TariffCode(models.Model):
    """One price of one billing code for a validity period (the scheme's price list)."""

    code = models.CharField(max_length=20)
    description = models.CharField(max_length=200)
    benefit_code = models.CharField(max_length=20, choices=BenefitCode.choices)
    unit_price = models.DecimalField(**MONEY, validators=POSITIVE_MONEY)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="empty = no end")
    requires_review = models.BooleanField(
        default=False, help_text="a claim billing this code waits in the assessor's work queue (pended)"
    )
    history = HistoricalRecords()  # audit trail of admin edits (issue 11); bulk writes bypass it

    class Meta:
        indexes = [models.Index(fields=["code", "valid_from"], name="tariff_code_from")]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price__gt=0),
                name="tariff_price_positive",
                violation_error_message="The unit price must be more than 0.",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="tariff_dates_in_order",
                violation_error_message="The end of validity cannot be before its start.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.valid_from}..{self.valid_to or ''})"

    def clean(self):
        check_dates(self, "valid_from", "valid_to", "The end of validity cannot be before its start.")


class PreAuthorisation(models.Model):
    """An amount the scheme agreed to pay in advance, for a tariff code or a whole benefit category: a budget,
    drawn down by the benefit paid against it across lines and claims (BenefitLedger.preauth)."""

    reference = models.CharField(max_length=30, unique=True)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="preauthorisations")
    practice_number = models.CharField(max_length=20, blank=True, help_text="empty = any provider")
    tariff_code = models.CharField(max_length=20, blank=True)
    benefit_code = models.CharField(max_length=20, choices=BenefitCode.choices, blank=True)
    authorised_amount = models.DecimalField(**MONEY, validators=POSITIVE_MONEY)
    valid_from = models.DateField()
    valid_to = models.DateField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(authorised_amount__gt=0),
                name="preauth_amount_positive",
                violation_error_message="The authorised amount must be more than 0.",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__gte=F("valid_from")),
                name="preauth_dates_in_order",
                violation_error_message="The end of validity cannot be before its start.",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def clean(self):
        check_dates(self, "valid_from", "valid_to", "The end of validity cannot be before its start.")


class Claim(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        PARTIALLY_APPROVED = "partially_approved", "Partially approved"
        REJECTED = "rejected", "Rejected"
        # Waiting for an assessor (issue 13): a line the rules flag for review (see reason_code); nothing paid yet.
        PENDED = "pended", "Pended for review"

    claim_number = models.CharField(max_length=30, unique=True)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="claims")
    practice_number = models.CharField(max_length=20, db_index=True, help_text="as submitted by the provider")
    service_date = models.DateField()
    received_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    reason_code = models.CharField(
        max_length=40, blank=True, help_text="claim-level rejection reason, or why the claim is pended"
    )
    total_claimed = models.DecimalField(**MONEY, default=0, validators=NOT_NEGATIVE_MONEY)
    total_eligible = models.DecimalField(**MONEY, default=0, validators=NOT_NEGATIVE_MONEY)
    total_copay = models.DecimalField(**MONEY, default=0, validators=NOT_NEGATIVE_MONEY)
    total_benefit = models.DecimalField(**MONEY, default=0, validators=NOT_NEGATIVE_MONEY)
    decided_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey("BulkClaimJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decision_round = models.PositiveSmallIntegerField(default=0, help_text="times the claim's decision was reversed")
    history = HistoricalRecords()  # audit trail of admin edits (issue 11); bulk writes bypass it

    class Meta:
        indexes = [models.Index(fields=["member", "service_date"], name="claim_member_date")]
        permissions = [
            ("assess_claim", "Can decide the lines of pended claims"),
            ("reverse_claim", "Can reverse a claim's decision"),
        ]
        # total_claimed is the lines' sum as sent, not constrained here: a line that got in around the line
        # constraint (a row older than it) is rejected by the adjudication, and refusing its claim's total
        # would fail the whole chunk it is decided in.
        constraints = [
            models.CheckConstraint(
                condition=Q(total_eligible__gte=0, total_copay__gte=0, total_benefit__gte=0),
                name="claim_decided_totals_not_negative",
                violation_error_message="A claim's eligible, co-payment and benefit totals cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return self.claim_number


class PendedClaimManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(status=Claim.Status.PENDED)


class PendedClaim(Claim):
    """The assessor's work queue in the admin (issue 13): the claims waiting for an assessor."""

    objects = PendedClaimManager()

    class Meta:
        proxy = True
        verbose_name = "pended claim"
        verbose_name_plural = "assessor's queue (pended claims)"


class ClaimLine(models.Model):
    """One billed item and its adjudication (amounts in FHIR ClaimResponse adjudication categories)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        PARTIAL = "partial", "Partially approved"
        REJECTED = "rejected", "Rejected"
        PENDED = "pended", "Pended for review"  # flagged by the rules; an assessor decides it

    class Review(models.TextChoices):
        APPROVE = "approve", "Approve"  # decided by the rules, without the review flags
        REJECT = "reject", "Reject"  # rejected, ASSESSOR_REJECTED

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    tariff_code = models.CharField(max_length=20)
    icd10_codes = models.CharField(max_length=200, help_text="comma-separated ICD-10 codes")
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1, "Enter a whole number from 1.")])
    claimed_amount = models.DecimalField(**MONEY, validators=POSITIVE_MONEY)  # FHIR "submitted"
    eligible_amount = models.DecimalField(**MONEY, default=0, validators=NOT_NEGATIVE_MONEY)  # FHIR "eligible"
    copay_amount = models.DecimalField(**MONEY, default=0, validators=NOT_NEGATIVE_MONEY)  # FHIR "copay"
    benefit_amount = models.DecimalField(**MONEY, default=0, validators=NOT_NEGATIVE_MONEY)  # FHIR "benefit"
    benefit_code = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    reason_codes = models.CharField(max_length=200, blank=True, help_text="comma-separated, see the README")
    # An assessor's decision on a pended claim's line (claims/assessment.py); cleared by a reversal.
    review = models.CharField(max_length=10, choices=Review.choices, blank=True)
    review_note = models.CharField(max_length=500, blank=True, help_text="the assessor's note")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["claim", "line_number"], name="claimline_unique_number"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="claimline_quantity_positive",
                violation_error_message="The quantity must be at least 1.",
            ),
            models.CheckConstraint(
                condition=Q(claimed_amount__gt=0),
                name="claimline_claimed_positive",
                violation_error_message="The amount claimed must be more than 0.",
            ),
            # The adjudication's amounts. (That co-payment plus benefit never exceed eligible holds too, and is
            # checked by claims/tests/test_rule_properties.py; not a constraint yet, as test fixtures elsewhere
            # write ledger lines with a benefit and no eligible amount.)
            models.CheckConstraint(
                condition=Q(eligible_amount__gte=0, copay_amount__gte=0, benefit_amount__gte=0),
                name="claimline_amounts_not_negative",
                violation_error_message="Eligible, co-payment and benefit amounts cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id}/{self.line_number}"


class ClaimReversal(models.Model):
    """One reversal of a claim's decision (issue 13): who, why, what the decision was and what it became."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="reversals")
    round = models.PositiveSmallIntegerField(help_text="the claim's decision_round this reversal started")
    reason = models.CharField(max_length=500)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reversed_at = models.DateTimeField(auto_now_add=True)
    previous_status = models.CharField(max_length=20, choices=Claim.Status.choices)
    previous_benefit = models.DecimalField(**MONEY)
    # Filled when the claim is decided again; the member is e-mailed only when the outcome changed.
    new_status = models.CharField(max_length=20, choices=Claim.Status.choices, blank=True)
    new_benefit = models.DecimalField(**MONEY, null=True, blank=True)
    outcome_changed = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["claim", "round"], name="reversal_unique_round")]

    def __str__(self) -> str:
        return f"{self.claim_id} reversal {self.round}"


class BenefitLedger(models.Model):
    """Append-only benefit usage; balances are sums over it. Written with the decision, in one transaction.

    A reversal (issue 13) appends, for each entry, one with the opposite amount (`reverses` the entry):
    nothing is updated or deleted, and a line decided again gets new entries beside the old pair.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    family = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+", help_text="the principal")
    benefit_code = models.CharField(max_length=20, choices=BenefitCode.choices)
    benefit_year = models.PositiveSmallIntegerField()
    claim_line = models.ForeignKey(ClaimLine, on_delete=models.PROTECT, related_name="ledger_entries")
    amount = models.DecimalField(**MONEY)
    # A pre-authorisation is a budget (issue 13): what was paid against it is the sum of its entries here,
    # written in the same transaction as the benefit, so a reversing entry gives the budget back with it.
    preauth = models.ForeignKey(
        PreAuthorisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
        help_text="the pre-authorisation this benefit was drawn from",
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by", help_text="reversed entry"
    )
    reversal = models.ForeignKey(ClaimReversal, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "benefit ledger"
        indexes = [
            models.Index(fields=["family", "benefit_year", "benefit_code"], name="ledger_family_year"),
            models.Index(fields=["member", "benefit_year", "benefit_code"], name="ledger_member_year"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.benefit_code} {self.benefit_year}: {self.amount}"


class BulkClaimJob(models.Model):
    """One run of process_bulk_claims; progress counters are updated as its chunks finish."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        # Every chunk ended, but some could not be decided: their claims are still pending (see `error`).
        COMPLETED_WITH_ERRORS = "completed_with_errors", "Completed with errors"
        FAILED = "failed", "Failed"

    task_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.RUNNING, db_index=True)
    # The selection lives here, not in the broker message (which carries the job id only), so a job
    # whose message was lost can be planned again from its row.
    claim_ids = models.JSONField(default=list, blank=True, help_text="the claim IDs asked for, sorted")
    requested = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0, help_text="claims found among the requested IDs")
    done = models.PositiveIntegerField(default=0)
    approved = models.PositiveIntegerField(default=0)
    partially_approved = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    pended = models.PositiveIntegerField(default=0, help_text="left for an assessor")
    already_decided = models.PositiveIntegerField(default=0)
    not_found = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True, help_text="when a chunk last ended (the sweep's clock)")
    resumes = models.PositiveIntegerField(default=0, help_text="times the sweep published its unfinished work again")
    resumed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Bulk job {self.pk} ({self.status}, {self.done}/{self.total})"


class BulkClaimChunk(models.Model):
    """A slice of a job's claims, whole families only; decided in one transaction with its `done` mark."""

    job = models.ForeignKey(BulkClaimJob, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    claim_ids = models.JSONField()
    done = models.BooleanField(default=False, help_text="ended: decided, or failed for good")
    failed = models.BooleanField(default=False, help_text="could not be decided; its claims stay pending")
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="chunk_unique_index")]

    def __str__(self) -> str:
        return f"job {self.job_id} chunk {self.index}"
