"""The claims back office: claims and their adjudication, bulk jobs, the price list, pre-auths, the ledger.

What the adjudication wrote (amounts, outcomes, reason codes, ledger rows, job progress) is read-only
here; a decided claim is read-only as a whole. Adjudicating goes through claims.services, the same
service the API and the worker use.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Exists, OuterRef, Sum
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from claims.adjudication.reasons import DESCRIPTIONS, PENDED, Reason
from claims.assessment import claim_assess
from claims.models import (
    BenefitLedger,
    BulkClaimChunk,
    BulkClaimJob,
    Claim,
    ClaimLine,
    ClaimReversal,
    PendedClaim,
    PreAuthorisation,
    TariffCode,
)
from claims.reversals import REASON_MAX, REVERSIBLE, ClaimStateError, claim_reverse
from claims.selectors import bulk_job_duration, bulk_job_percent_done
from claims.services import BulkInputError, bulk_job_failed_claim_ids, bulk_job_start
from core.admin import ReadOnlyAdmin
from core.history_admin import AuditedAdmin
from providers.models import Provider

ADJUDICATION_LINE_FIELDS = (
    "eligible_amount",
    "copay_amount",
    "benefit_amount",
    "benefit_code",
    "outcome",
    "reasons",
    "review",
    "review_note",
)
ADJUDICATION_CLAIM_FIELDS = (
    "status",
    "reason",
    "total_claimed",
    "total_eligible",
    "total_copay",
    "total_benefit",
    "decided_at",
    "job",
    "decision_round",
)


def _explain(codes: str):
    """Reason codes with their plain-word descriptions, one per line."""
    parts = [code for code in codes.split(",") if code]
    if not parts:
        return "-"
    return format_html_join(mark_safe("<br>"), "<b>{}</b>: {}", ((c, DESCRIPTIONS.get(c, "")) for c in parts))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _is_decided(claim: Claim | None) -> bool:
    return claim is not None and claim.status != Claim.Status.PENDING


class ClaimLineInline(admin.TabularInline):
    model = ClaimLine
    extra = 0
    fields = ("line_number", "tariff_code", "icd10_codes", "quantity", "claimed_amount", *ADJUDICATION_LINE_FIELDS)

    @admin.display(description="reasons")
    def reasons(self, line: ClaimLine):
        return _explain(line.reason_codes)

    def get_readonly_fields(self, request, obj=None):
        return self.fields if _is_decided(obj) else ADJUDICATION_LINE_FIELDS

    def has_add_permission(self, request, obj=None):
        return not _is_decided(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _is_decided(obj) and super().has_delete_permission(request, obj)


class PracticeFilter(admin.SimpleListFilter):
    """By registered provider (from the provider table, not a scan of the claims), or 'not registered'."""

    title = "practice number"
    parameter_name = "practice"
    UNREGISTERED = "unregistered"

    def lookups(self, request, model_admin):
        providers = Provider.objects.order_by("practice_number").values_list("practice_number", "name")
        return [(self.UNREGISTERED, "Not registered"), *((number, f"{number} {name}") for number, name in providers)]

    def queryset(self, request, queryset):
        if self.value() == self.UNREGISTERED:
            registered = Provider.objects.filter(practice_number=OuterRef("practice_number"))
            return queryset.filter(~Exists(registered))
        if self.value():
            return queryset.filter(practice_number=self.value())
        return queryset


@admin.register(Claim)
class ClaimAdmin(AuditedAdmin):  # "History": who changed what, when
    list_display = (
        "claim_number",
        "member",
        "practice_number",
        "service_date",
        "received_at",
        "status",
        "total_claimed",
        "total_benefit",
        "decided_at",
    )
    list_filter = ("status", "member__plan", PracticeFilter)  # every plan: a few rows, no scan of the claims
    date_hierarchy = "service_date"
    search_fields = ("^claim_number", "=member__membership_number")
    search_help_text = "Claim number (or its start), or the exact membership number."
    raw_id_fields = ("member", "job")
    list_select_related = ("member",)
    show_full_result_count = False  # no COUNT(*) over every claim on each filtered page
    ordering = ("-received_at",)
    inlines = [ClaimLineInline]
    actions = ["adjudicate_selected", "reverse_selected"]
    fields = ("claim_number", "member", "practice_number", "service_date", "received_at", *ADJUDICATION_CLAIM_FIELDS)

    @admin.display(description="claim-level reason")
    def reason(self, claim: Claim):
        return _explain(claim.reason_code)

    def get_readonly_fields(self, request, obj=None):
        return self.fields if _is_decided(obj) else ADJUDICATION_CLAIM_FIELDS

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        claim = form.instance
        if not _is_decided(claim):  # what the submission service keeps: the sum of the lines
            total = claim.lines.aggregate(total=Sum("claimed_amount"))["total"] or 0
            Claim.objects.filter(id=claim.id, status=Claim.Status.PENDING).update(total_claimed=total)

    @admin.action(description="Adjudicate selected claims", permissions=["adjudicate"])
    def adjudicate_selected(self, request, queryset):
        claim_ids = list(queryset.order_by().values_list("id", flat=True))
        try:
            job = bulk_job_start(claim_ids=claim_ids)
        except BulkInputError as error:
            self.message_user(request, f"No job started: {error}", messages.ERROR)
            return
        url = reverse("admin:claims_bulkclaimjob_change", args=[job.id])
        self.message_user(
            request,
            format_html('Bulk job <a href="{}">#{}</a> started for {} claims.', url, job.id, len(claim_ids)),
            messages.SUCCESS,
        )

    def has_adjudicate_permission(self, request):
        return request.user.has_perm("claims.add_bulkclaimjob")

    @admin.action(description="Reverse the decisions of selected claims", permissions=["reverse"])
    def reverse_selected(self, request, queryset):
        """Asks for a reason first (an intermediate page, as Django's delete action does), then reverses each
        decided claim; the others are named and left alone."""
        claims = list(queryset.order_by("id"))
        form = ReversalForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            done, changed, refused = 0, 0, []
            for claim in claims:
                try:
                    reversal = claim_reverse(
                        claim_id=claim.id,
                        reason=form.cleaned_data["reason"],
                        user=request.user,
                        readjudicate=form.cleaned_data["readjudicate"],
                    )
                except ClaimStateError as error:
                    refused.append(str(error))
                    continue
                done += 1
                changed += bool(reversal.outcome_changed)
            if done:
                again = f"; decided again: {changed} changed outcome" if form.cleaned_data["readjudicate"] else ""
                self.message_user(request, f"{_count(done, 'claim')} reversed{again}.", messages.SUCCESS)
            for message in refused[:20]:
                self.message_user(request, f"Not reversed: {message}", messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reverse the decisions of these claims?",
            "opts": self.model._meta,
            "claims": claims,
            "reversible": [c for c in claims if c.status in REVERSIBLE],
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/claims/claim/reverse.html", context)

    def has_reverse_permission(self, request):
        return request.user.has_perm("claims.reverse_claim")


class ReversalForm(forms.Form):
    reason = forms.CharField(max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))
    readjudicate = forms.BooleanField(
        required=False, initial=True, label="Decide the claims again now (otherwise they wait, pending)"
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason


class PendReasonFilter(admin.SimpleListFilter):
    title = "why pended"
    parameter_name = "pended_for"

    LABELS = {
        Reason.PENDED_TARIFF_REVIEW: "tariff code marked for review",
        Reason.PENDED_REVIEW_THRESHOLD: "above the review threshold",
        Reason.PENDED_NEAR_DUPLICATE: "paid to another provider that day",
    }

    def lookups(self, request, model_admin):
        return [(code.value, self.LABELS[code]) for code in PENDED]

    def queryset(self, request, queryset):
        return queryset.filter(reason_code=self.value()) if self.value() else queryset


@admin.register(PendedClaim)
class PendedClaimAdmin(admin.ModelAdmin):
    """The assessor's work queue: pended claims, oldest first; a claim's page is the assessment form.

    The decisions go through claims.assessment.claim_assess, the service the API uses: the lines' decisions
    are stored and the claim is decided by the engine (ledger, e-mail) in one transaction.
    """

    list_display = (
        "claim_number",
        "member",
        "practice_number",
        "service_date",
        "received_at",
        "pended_for",
        "total_claimed",
        "waiting",
    )
    list_filter = (PendReasonFilter, "member__plan", PracticeFilter, "service_date")
    search_fields = ("^claim_number", "=member__membership_number")
    search_help_text = "Claim number (or its start), or the exact membership number."
    list_select_related = ("member",)
    ordering = ("received_at", "id")  # oldest first
    show_full_result_count = False

    @admin.display(description="pended for")
    def pended_for(self, claim: Claim) -> str:
        return DESCRIPTIONS.get(claim.reason_code, claim.reason_code)

    @admin.display(description="waiting since", ordering="decided_at")
    def waiting(self, claim: Claim) -> str:
        if claim.decided_at is None:
            return "-"
        days = (timezone.now() - claim.decided_at).days
        return f"{days} days" if days else "today"

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("claims.assess_claim")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("claims.assess_claim")

    def has_module_permission(self, request):
        return request.user.has_perm("claims.assess_claim")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_change_permission(request):
            return TemplateResponse(request, "admin/claims/pendedclaim/assess.html", {}, status=403)
        claim = get_object_or_404(Claim.objects.select_related("member"), pk=object_id)
        lines = list(claim.lines.order_by("line_number"))
        form = AssessmentForm(request.POST or None, lines=lines)
        if claim.status != Claim.Status.PENDED:
            self.message_user(
                request, f"Claim {claim.claim_number} is {claim.status}: not in the queue.", messages.INFO
            )
            return HttpResponseRedirect(reverse("admin:claims_pendedclaim_changelist"))
        if request.method == "POST" and form.is_valid():
            try:
                decided = claim_assess(claim_id=claim.id, decisions=form.decisions(), user=request.user)
            except (ClaimStateError, ValueError) as error:
                form.add_error(None, str(error))
            else:
                self.message_user(
                    request,
                    f"Claim {decided.claim_number} is now {decided.get_status_display().lower()} "
                    f"(benefit {decided.total_benefit}).",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:claims_pendedclaim_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Assess claim {claim.claim_number}",
            "opts": self.model._meta,
            "claim": claim,
            "rows": [
                (line, _explain(line.reason_codes), form[f"decision_{line.id}"], form[f"note_{line.id}"])
                for line in lines
            ],
            "form": form,
        }
        return TemplateResponse(request, "admin/claims/pendedclaim/assess.html", context)


class AssessmentForm(forms.Form):
    """A decision and a note per line; a pended line must have both, another line may."""

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            flagged = line.outcome == ClaimLine.Outcome.PENDED
            self.fields[f"decision_{line.id}"] = forms.ChoiceField(
                choices=[("", "-"), *ClaimLine.Review.choices], required=flagged
            )
            self.fields[f"note_{line.id}"] = forms.CharField(max_length=REASON_MAX, required=flagged)

    def clean(self):
        cleaned = super().clean()
        for line in self.lines:
            note = f"note_{line.id}"
            if cleaned.get(f"decision_{line.id}") and not (cleaned.get(note) or "").strip() and note not in self.errors:
                self.add_error(note, "A note is required with a decision.")
        return cleaned

    def decisions(self) -> dict[int, tuple[str, str]]:
        return {
            line.id: (self.cleaned_data[f"decision_{line.id}"], self.cleaned_data[f"note_{line.id}"].strip())
            for line in self.lines
            if self.cleaned_data.get(f"decision_{line.id}")
        }


@admin.register(ClaimReversal)
class ClaimReversalAdmin(ReadOnlyAdmin):
    list_display = (
        "reversed_at",
        "claim",
        "round",
        "previous_status",
        "previous_benefit",
        "new_status",
        "new_benefit",
        "outcome_changed",
        "reversed_by",
    )
    list_filter = ("outcome_changed", "previous_status")
    search_fields = ("=claim__claim_number",)
    raw_id_fields = ("claim",)
    list_select_related = ("claim", "reversed_by")
    date_hierarchy = "reversed_at"
    ordering = ("-reversed_at",)


@admin.register(BulkClaimJob)
class BulkClaimJobAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "status",
        "progress",
        "requested",
        "total",
        "done",
        "approved",
        "partially_approved",
        "rejected",
        "pended",
        "already_decided",
        "not_found",
        "failed",
        "created_at",
        "duration",
    )
    list_filter = ("status",)
    search_fields = ("=id", "=task_id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = ("progress", "duration", "selection", "claims_left_pending")
    exclude = ("claim_ids",)  # up to a million IDs: the page shows how many instead

    @admin.display(description="selection")
    def selection(self, job: BulkClaimJob) -> str:
        return f"{len(job.claim_ids)} claim IDs"

    @admin.display(description="claims left pending (failed chunks)")
    def claims_left_pending(self, job: BulkClaimJob) -> str:
        if job.status != BulkClaimJob.Status.COMPLETED_WITH_ERRORS:
            return "-"
        ids = bulk_job_failed_claim_ids(job)
        shown = ", ".join(map(str, ids[:200]))
        return f"{len(ids)}: {shown}{' ...' if len(ids) > 200 else ''}" if ids else "none (decided since)"

    @admin.display(description="progress")
    def progress(self, job: BulkClaimJob) -> str:
        return f"{bulk_job_percent_done(job):.1f}% ({job.done}/{job.total})"

    @admin.display(description="duration")
    def duration(self, job: BulkClaimJob) -> str:
        duration = bulk_job_duration(job)
        return "-" if duration is None else f"{duration.total_seconds():.1f} s"

    def has_delete_permission(self, request, obj=None):
        # A finished job may be cleared away (its claims keep their decisions); a running one may not.
        if obj is not None and obj.status == BulkClaimJob.Status.RUNNING:
            return False
        return request.user.has_perm("claims.delete_bulkclaimjob")


@admin.register(BulkClaimChunk)
class BulkClaimChunkAdmin(ReadOnlyAdmin):
    list_display = ("job", "index", "size", "done", "failed")
    list_filter = ("done", "failed")
    search_fields = ("=job__id",)
    raw_id_fields = ("job",)
    list_select_related = ("job",)
    ordering = ("-job_id", "index")

    @admin.display(description="claims")
    def size(self, chunk: BulkClaimChunk) -> int:
        return len(chunk.claim_ids)


@admin.register(BenefitLedger)
class BenefitLedgerAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "member",
        "family",
        "benefit_code",
        "benefit_year",
        "amount",
        "claim",
        "preauth",
        "reverses",
    )
    list_filter = ("benefit_year", "benefit_code")
    search_fields = ("=member__membership_number", "=claim_line__claim__claim_number", "=preauth__reference")
    raw_id_fields = ("member", "family", "claim_line", "preauth", "reverses", "reversal")
    list_select_related = ("member", "family", "claim_line__claim", "preauth")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False

    @admin.display(description="claim")
    def claim(self, entry: BenefitLedger) -> str:
        return f"{entry.claim_line.claim.claim_number} line {entry.claim_line.line_number}"


@admin.register(TariffCode)
class TariffCodeAdmin(AuditedAdmin):  # "History": who changed what, when
    list_display = ("code", "description", "benefit_code", "unit_price", "valid_from", "valid_to")
    list_filter = ("benefit_code",)
    search_fields = ("^code", "description")
    ordering = ("code", "valid_from")


@admin.register(PreAuthorisation)
class PreAuthorisationAdmin(admin.ModelAdmin):
    list_display = (
        "reference",
        "member",
        "practice_number",
        "tariff_code",
        "benefit_code",
        "authorised_amount",
        "drawn",
        "valid_from",
        "valid_to",
    )
    list_filter = ("benefit_code",)
    search_fields = ("=reference", "=member__membership_number", "=practice_number")
    raw_id_fields = ("member",)
    list_select_related = ("member",)
    date_hierarchy = "valid_from"

    def get_queryset(self, request):
        # A budget (issue 13): what was paid against it is its ledger entries' sum, one aggregate for the page.
        return super().get_queryset(request).annotate(drawn_total=Sum("ledger_entries__amount"))

    @admin.display(description="paid against it", ordering="drawn_total")
    def drawn(self, preauth: PreAuthorisation) -> str:
        return f"{preauth.drawn_total or 0:.2f}"  # a Sum on SQLite comes back without its cents
