"""The assessor's decisions on pended claims (issue 13), through the same adjudication as every claim.

A claim the rules pend (claims/adjudication/rules.py `_review_flag`) waits with status `pended`, nothing
paid. The assessor approves or rejects lines, each with a note; every flagged line must have a decision,
other lines may have one too. The decisions are stored on the lines and the claim is decided again by the
engine, in one transaction under the family lock: an approved line is decided by the rules without the
review flags (limits, caps and co-payments still apply), a rejected one is `ASSESSOR_REJECTED`. The
engine writes the ledger and the member's e-mail as for any decision. A line that the new decision flags
again (another provider's claim paid in the meantime, say) pends the claim again.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from claims.adjudication.engine import adjudicate_claims_in_transaction, families_lock
from claims.models import Claim, ClaimLine
from claims.reversals import ClaimStateError, NotFound, reason_validated

logger = logging.getLogger(__name__)

DECISIONS = tuple(ClaimLine.Review.values)


def line_decisions_validated(decisions) -> dict[int, tuple[str, str]]:
    """{line id: (approve | reject, note)} from a mapping or a list of {line_id, decision, note}; ValueError says
    what is wrong."""
    if isinstance(decisions, dict):
        items = [{"line_id": key, "decision": value[0], "note": value[1]} for key, value in decisions.items()]
    elif isinstance(decisions, list | tuple):
        items = list(decisions)
    else:
        raise ValueError("give the line decisions as a list of {line_id, decision, note}")
    if not items:
        raise ValueError("no line decisions given")
    validated: dict[int, tuple[str, str]] = {}
    for item in items:
        line_id, decision, note = item.get("line_id"), item.get("decision"), item.get("note", "")
        if isinstance(line_id, bool) or not isinstance(line_id, int):
            raise ValueError(f"line_id must be a line's id (an integer); got {line_id!r:.40}")
        if decision not in DECISIONS:
            raise ValueError(f"the decision on line {line_id} must be one of {', '.join(DECISIONS)}")
        note = reason_validated(note, f"a note with the decision on line {line_id}")
        if line_id in validated:
            raise ValueError(f"line {line_id} has two decisions")
        validated[line_id] = (decision, note)
    return validated


def claim_assess(*, claim_id: int, decisions, user=None) -> Claim:
    """Store the assessor's line decisions on a pended claim and decide it; the claim as it now stands."""
    decisions = line_decisions_validated(decisions)
    with transaction.atomic():
        families_lock([claim_id])
        claim = Claim.objects.select_for_update().filter(id=claim_id).first()
        if claim is None:
            raise NotFound(f"no claim {claim_id}")
        if claim.status != Claim.Status.PENDED:
            raise ClaimStateError(f"claim {claim.claim_number} is {claim.status}, not pended: nothing to assess")
        lines = dict(claim.lines.values_list("id", "outcome"))
        strangers = sorted(set(decisions) - set(lines))
        if strangers:
            raise ClaimStateError(f"lines {strangers} are not lines of claim {claim.claim_number}")
        undecided = sorted(
            line for line, outcome in lines.items() if outcome == ClaimLine.Outcome.PENDED and line not in decisions
        )
        if undecided:
            raise ClaimStateError(f"every pended line needs a decision; lines {undecided} have none")
        now = timezone.now()
        reviewer = user if getattr(user, "pk", None) else None
        for line_id, (decision, note) in decisions.items():
            ClaimLine.objects.filter(id=line_id).update(
                review=decision, review_note=note, reviewed_by=reviewer, reviewed_at=now
            )
        # Back to pending inside this transaction, so that the engine (which decides pending claims only)
        # takes it; nobody else sees it pending: the row is locked until the commit.
        Claim.objects.filter(id=claim.id).update(status=Claim.Status.PENDING, decided_at=None)
        adjudicate_claims_in_transaction([claim.id])
    claim.refresh_from_db()
    logger.info("Claim %s assessed: %s lines decided, now %s", claim.id, len(decisions), claim.status)
    return claim
