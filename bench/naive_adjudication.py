"""The naive adjudication baseline bench.bulk_claims compares against: same rules, one claim at a time.

Per claim: its own queries for the claim, its lines and the reference data (plans, the price list and
the provider registry through the same cache the engine reads), then one `save()` per line, per claim
and per ledger entry. This is how a straightforward per-claim task would do it. It lives in bench/, not
in the product: it exists to be measured, and claims/tests/test_naive_adjudication.py shows it decides
every claim as the set-based engine (claims/adjudication/engine.py) does, so the ratio compares two
implementations of one thing.

As a process (bench.bulk_claims starts one per pool process of the fast path's worker, each with
whole families, and calls `main()` once Django is set up): reads a JSON list of claim IDs on stdin,
prints `ready`, waits for a line on stdin, decides the claims in the order given and prints
`done <claims> <seconds>`.
"""

from __future__ import annotations

import json
import pickle
import sys
import time
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from claims.adjudication import rules
from claims.adjudication.engine import load_reference
from claims.adjudication.rules import ClaimIn, LineIn
from claims.models import BenefitLedger, Claim, ClaimLine
from claims.reversals import CLAIM_AS_RECEIVED, LINE_AS_RECEIVED

LINE_DECISION_FIELDS = ("eligible_amount", "copay_amount", "benefit_amount", "benefit_code", "outcome", "reason_codes")


def adjudicate_claim_naive(claim_id: int) -> str | None:
    """Decide one claim if still pending; returns its new status (None if it was not pending)."""
    with transaction.atomic():
        claim = Claim.objects.select_related("member").get(id=claim_id)
        if claim.status != Claim.Status.PENDING:
            return None
        lines = list(ClaimLine.objects.filter(claim=claim).order_by("line_number"))
        claim_in = ClaimIn(
            claim.id,
            claim.claim_number,
            claim.member_id,
            claim.practice_number,
            claim.service_date,
            claim.received_at,
            tuple(
                LineIn(line.id, line.tariff_code, line.icd10_codes, line.quantity, line.claimed_amount)
                for line in lines
            ),
        )
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
                    member_id=claim.member_id,
                    family_id=family,
                    benefit_code=line_decision.benefit_code,
                    benefit_year=decision.benefit_year,
                    claim_line=line,
                    amount=line_decision.benefit,
                    preauth_id=line_decision.preauth_id,
                )
        claim.status, claim.reason_code = decision.status, decision.reason_code
        claim.total_claimed = sum((line.claimed_amount for line in lines), rules.ZERO)
        claim.total_eligible, claim.total_copay, claim.total_benefit = decision.totals
        claim.decided_at = timezone.now()
        claim.save()
        return decision.status


def claims_by_family(claims: QuerySet[Claim]) -> dict[int, list[int]]:
    """The claims grouped by family, each family's in the order the rules decide them.

    A family's claims share its limits, so the naive baseline decides them one after another in the
    engine's order (service date, receipt, claim number; rules.ClaimIn.order_key) and never two
    families' claims split across processes in a way that could change a decision.
    """
    families: dict[int, list[tuple]] = defaultdict(list)
    rows = claims.values_list("id", "member_id", "member__principal_id", "service_date", "received_at", "claim_number")
    for claim_id, member_id, principal_id, *order_key in rows:
        families[principal_id or member_id].append((*order_key, claim_id))
    return {family: [row[-1] for row in sorted(rows)] for family, rows in sorted(families.items())}


def decisions_snapshot(claim_ids) -> dict:
    """What adjudication decided for these claims, keyed by claim number (not by id or time of day).

    Claims: status, reason code and the four totals; lines: amounts, benefit code, outcome and reason
    codes; the ledger: one entry per paying line with its member, family, benefit, year, amount and the
    pre-authorisation it drew on (by reference).
    """
    ids = list(claim_ids)
    claims = {
        number: rest
        for number, *rest in Claim.objects.filter(id__in=ids).values_list(
            "claim_number", "status", "reason_code", "total_claimed", "total_eligible", "total_copay", "total_benefit"
        )
    }
    lines = {
        (number, line_number): rest
        for number, line_number, *rest in ClaimLine.objects.filter(claim_id__in=ids).values_list(
            "claim__claim_number", "line_number", *LINE_DECISION_FIELDS
        )
    }
    ledger = sorted(
        BenefitLedger.objects.filter(claim_line__claim_id__in=ids).values_list(
            "claim_line__claim__claim_number",
            "claim_line__line_number",
            "member_id",
            "family_id",
            "benefit_code",
            "benefit_year",
            "amount",
            "preauth__reference",
        )
    )
    return {"claims": claims, "lines": lines, "ledger": ledger}


def baseline_prepare(*, claims: int, processes: int, snapshot: str) -> dict:
    """Set up a baseline run over the first whole families holding at least `claims` claims.

    Whole families, so no claim outside the selection holds usage the re-run would see differently.
    What the engine decided for them is pickled to `snapshot`; then their decisions and ledger entries
    are undone (pending again) and the families dealt to `processes` groups, each family to the group
    with fewer claims so far, its claims in the rules' order. Returns the groups and how many families.
    """
    ids, families = [], []
    for family_claims in claims_by_family(Claim.objects.all()).values():
        if len(ids) >= claims:
            break
        ids += family_claims
        families.append(family_claims)
    with open(snapshot, "wb") as out:
        pickle.dump(decisions_snapshot(ids), out)
    with transaction.atomic():
        BenefitLedger.objects.filter(claim_line__claim_id__in=ids).delete()
        ClaimLine.objects.filter(claim_id__in=ids).update(**LINE_AS_RECEIVED)
        Claim.objects.filter(id__in=ids).update(**CLAIM_AS_RECEIVED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics after the bulk run and the reset: a fair baseline
    groups: list[list[int]] = [[] for _ in range(processes)]
    for family_claims in families:
        min(groups, key=len).extend(family_claims)
    return {"groups": groups, "families": len(families)}


def baseline_matches(*, claim_ids: list[int], snapshot: str) -> bool:
    """Whether the baseline decided these claims, their lines and ledger as the engine had (`snapshot`)."""
    with open(snapshot, "rb") as stored:
        return pickle.load(stored) == decisions_snapshot(claim_ids)  # the bench's own file


def main() -> None:
    """One baseline process for bench.bulk_claims (Django set up by the caller): IDs in, `ready`, go, `done n s`."""
    claim_ids = json.loads(sys.stdin.readline())
    Claim.objects.exists()  # connect before the clock starts, as a worker process has
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    for claim_id in claim_ids:
        adjudicate_claim_naive(claim_id)
    print(f"done {len(claim_ids)} {time.perf_counter() - started:.3f}", flush=True)
