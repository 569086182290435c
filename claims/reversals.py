"""Reversing a claim's decision (issue 13): the ledger gets reversing entries, the claim goes back to pending.

The ledger stays append-only: each entry of the claim's lines that is not yet reversed gets one with the
opposite amount, the same member, family, benefit, year and pre-authorisation (so the budget comes back
with the limit), linked by `reverses`. The claim and its lines return to how they were received
(outcomes, amounts, reasons and any assessor's decisions cleared), the round counter goes up, and a
`ClaimReversal` row keeps who, why and the decision that was undone. Deciding the claim again is the
ordinary adjudication (the engine, a bulk job, or `readjudicate=True` here); when the new outcome
differs from the reversed one the member gets an e-mail (engine._reversals_settle).

Done under the family lock the engine takes, so a chunk deciding the same family waits for it.
"""

from __future__ import annotations

import logging
import re

from django.db import transaction

from claims.adjudication.engine import adjudicate_claims_in_transaction, families_lock
from claims.models import BenefitLedger, Claim, ClaimLine, ClaimReversal
from core.db import insert_rows

logger = logging.getLogger(__name__)

REVERSIBLE = (Claim.Status.APPROVED, Claim.Status.PARTIALLY_APPROVED, Claim.Status.REJECTED)
REASON_MAX = 500
# Text that says something: at least one character that is not a space or a control character. The API's
# schema has the same pattern (claims/api/decisions.py), so what it allows is what is taken here.
VISIBLE = re.compile(r"[^\x00-\x20\x7f]")


# A claim and its lines as they were received: no decision, no amounts, no assessor's review. Written by a
# reversal, and by the bench that decides the same claims twice (bench/naive_adjudication.py).
LINE_AS_RECEIVED = {
    "outcome": ClaimLine.Outcome.PENDING,
    "eligible_amount": 0,
    "copay_amount": 0,
    "benefit_amount": 0,
    "benefit_code": "",
    "reason_codes": "",
    "review": "",
    "review_note": "",
    "reviewed_by": None,
    "reviewed_at": None,
}
CLAIM_AS_RECEIVED = {
    "status": Claim.Status.PENDING,
    "reason_code": "",
    "total_eligible": 0,
    "total_copay": 0,
    "total_benefit": 0,
    "decided_at": None,
    "job": None,
}


class ClaimStateError(ValueError):
    """The claim is not in a state this operation applies to (the message says which and why)."""


class NotFound(LookupError):
    """No claim with that id."""


def reason_validated(reason, what: str = "a reason") -> str:
    """The text as given (it is kept as written), if it says something and fits."""
    if not isinstance(reason, str) or not VISIBLE.search(reason):
        raise ValueError(f"{what} is required")
    if "\x00" in reason:
        raise ValueError(f"{what} may not contain a NUL character")
    if len(reason) > REASON_MAX:
        raise ValueError(f"the reason is {len(reason)} characters long; at most {REASON_MAX}")
    return reason


def claim_reverse(*, claim_id: int, reason: str, user=None, readjudicate: bool = False) -> ClaimReversal:
    """Reverse a decided claim; with `readjudicate`, decide it again in the same transaction."""
    reason = reason_validated(reason)
    with transaction.atomic():
        families_lock([claim_id])
        claim = Claim.objects.select_for_update().filter(id=claim_id).first()
        if claim is None:
            raise NotFound(f"no claim {claim_id}")
        if claim.status not in REVERSIBLE:
            raise ClaimStateError(
                f"claim {claim.claim_number} is {claim.status}: only an approved, partially approved or rejected "
                "claim can be reversed"
            )
        round_ = claim.decision_round + 1
        reversal = ClaimReversal.objects.create(
            claim=claim,
            round=round_,
            reason=reason,
            reversed_by=user if getattr(user, "pk", None) else None,
            previous_status=claim.status,
            previous_benefit=claim.total_benefit,
        )
        live = BenefitLedger.objects.filter(
            claim_line__claim_id=claim.id, reverses__isnull=True, reversed_by__isnull=True
        ).values_list(
            "id", "member_id", "family_id", "benefit_code", "benefit_year", "claim_line_id", "amount", "preauth_id"
        )
        rows = [
            (member, family, code, year, line, -amount, preauth, entry, reversal.id)
            for entry, member, family, code, year, line, amount, preauth in live
        ]
        fields = ("member", "family", "benefit_code", "benefit_year", "claim_line", "amount", "preauth", "reverses")
        insert_rows(BenefitLedger, (*fields, "reversal"), rows)
        ClaimLine.objects.filter(claim_id=claim.id).update(**LINE_AS_RECEIVED)
        Claim.objects.filter(id=claim.id).update(**CLAIM_AS_RECEIVED, decision_round=round_)
        logger.info("Claim %s reversed (round %s, %s ledger entries)", claim.id, round_, len(rows))
        if readjudicate:
            adjudicate_claims_in_transaction([claim.id])
    reversal.refresh_from_db()
    return reversal
