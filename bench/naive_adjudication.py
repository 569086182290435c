"""The naive baseline the bulk bench compares against: same rules, one claim at a time through the ORM.

Per claim: its own queries for the claim, its lines and the reference data, then one `save()` per
line, per claim and per ledger entry. This is how a straightforward per-claim task would do it;
it exists to be measured (bench/bulk_claims.py) and to show that the set-based path decides the
same (claims/tests), never to be used by the product.
"""

from django.db import transaction
from django.utils import timezone

from claims.models import BenefitLedger, Claim, ClaimLine

from . import rules
from .engine import load_reference
from .rules import ClaimIn, LineIn

LINE_DECISION_FIELDS = ("eligible_amount", "copay_amount", "benefit_amount", "benefit_code", "outcome", "reason_codes")


def adjudicate_claim_naive(claim_id: int) -> str | None:
    """Decide one claim if still pending; returns its new status (None if it was not pending)."""
    with transaction.atomic():
        claim = Claim.objects.select_related("member").get(id=claim_id)
        if claim.status != Claim.Status.PENDING:
            return None
        lines = list(ClaimLine.objects.filter(claim=claim).order_by("line_number"))
        claim_in = ClaimIn(
            claim.id, claim.claim_number, claim.member_id, claim.practice_number, claim.service_date, claim.received_at,
            tuple(LineIn(line.id, line.tariff_code, line.icd10_codes, line.quantity, line.claimed_amount)
                  for line in lines),
        )  # fmt: skip
        family = claim.member.principal_id or claim.member_id
        ref, usage = load_reference([claim_in], [family])
        decision = rules.adjudicate_claim(claim_in, ref, usage)
        by_id = {line.id: line for line in lines}
        for line_decision in decision.lines:
            line = by_id[line_decision.line_id]
            line.eligible_amount, line.copay_amount = line_decision.eligible, line_decision.copay
            line.benefit_amount, line.benefit_code = line_decision.benefit, line_decision.benefit_code
            line.outcome, line.reason_codes = line_decision.outcome, ",".join(line_decision.reasons)
            # Only what the adjudication decides, as the engine writes it: a line stored around the constraints
            # (quantity 0, say) is rejected, not rewritten and refused by them.
            line.save(update_fields=LINE_DECISION_FIELDS)
            if line_decision.benefit > 0:
                BenefitLedger.objects.create(
                    member_id=claim.member_id, family_id=family, benefit_code=line_decision.benefit_code,
                    benefit_year=decision.benefit_year, claim_line=line, amount=line_decision.benefit,
                )  # fmt: skip
        claim.status, claim.reason_code = decision.status, decision.reason_code
        claim.total_claimed = sum((line.claimed_amount for line in lines), rules.ZERO)
        claim.total_eligible, claim.total_copay, claim.total_benefit = decision.totals
        claim.decided_at = timezone.now()
        claim.save()
        return decision.status
