"""The naive baseline (bench/naive_adjudication.py) decides every claim as the set-based engine does.

bench.bulk_claims publishes a ratio of the two; it means something only if both compute the same thing.
On the demo scheme (every outcome and reason code, families sharing limits, duplicates, pre-authorisations)
the engine decides every claim in one call, what it wrote is kept, the transaction is rolled back, and the
naive baseline decides the claims of the families that reach every outcome and reason code again, one at
a time, family by family in the rules' order.
Compared: each claim's status, reason code and totals, each line's amounts, benefit, outcome and reason
codes, and the benefit ledger entry by entry.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from django.db import transaction

from bench.naive_adjudication import adjudicate_claim_naive, claims_by_family, decisions_snapshot
from claims.adjudication.engine import adjudicate_claims
from claims.demo import demo_data_seed
from claims.models import BenefitLedger, Claim

SEEDED_ON = date(2026, 11, 25)  # fixed, so the data does not change with the calendar

pytestmark = pytest.mark.django_db


def outcomes_of(snapshot: dict, numbers: set[str]) -> set[str]:
    """The statuses and reason codes (of the claims and their lines) these claims reached."""
    seen = {code for number in numbers for code in snapshot["claims"][number][:2]}
    seen |= {
        code for (number, _), (*_, codes) in snapshot["lines"].items() if number in numbers for code in codes.split(",")
    }
    return seen - {""}


def restricted(snapshot: dict, numbers: set[str]) -> dict:
    """The part of a decisions snapshot about these claims."""
    return {
        "claims": {number: row for number, row in snapshot["claims"].items() if number in numbers},
        "lines": {key: row for key, row in snapshot["lines"].items() if key[0] in numbers},
        "ledger": [row for row in snapshot["ledger"] if row[0] in numbers],
    }


def test_the_naive_baseline_decides_every_claim_and_pays_the_ledger_as_the_engine_does():
    demo_data_seed(members=40, claims=200, seed=7, today=SEEDED_ON)
    ids = list(Claim.objects.values_list("id", flat=True))
    with transaction.atomic():
        adjudicate_claims(ids)
        engine = decisions_snapshot(ids)
        transaction.set_rollback(True)
    assert Claim.objects.filter(status=Claim.Status.PENDING).count() == len(ids)
    assert not BenefitLedger.objects.exists()
    statuses = Counter(status for status, *_ in engine["claims"].values())
    assert sum(statuses.values()) == len(ids) and all(
        statuses[s] for s in ("approved", "partially_approved", "rejected")
    )

    # The naive baseline takes 15-50 ms a claim (PostgreSQL, loaded machine), so it re-decides the
    # fewest whole families that reach every status and reason code the engine reached on all 200
    # claims; a family's decisions depend on no other family's claims.
    by_family = claims_by_family(Claim.objects.all())
    number_of = dict(Claim.objects.values_list("id", "claim_number"))
    numbers = {family: {number_of[claim_id] for claim_id in claims} for family, claims in by_family.items()}
    wanted, chosen, covered = outcomes_of(engine, set(number_of.values())), [], set()
    while missing := wanted - covered:
        family = max(numbers, key=lambda f: (len(outcomes_of(engine, numbers[f]) & missing), -len(numbers[f]), -f))
        chosen.append(family)
        covered |= outcomes_of(engine, numbers[family])
    selected = set().union(*(numbers[family] for family in chosen))

    for family in chosen:
        for claim_id in by_family[family]:
            adjudicate_claim_naive(claim_id)
    naive = decisions_snapshot([claim_id for family in chosen for claim_id in by_family[family]])
    expected = restricted(engine, selected)

    # What the comparison covers: every outcome, reason codes that depend on the claims before them in
    # the family (limits, duplicates), and a ledger.
    assert {"approved", "partially_approved", "rejected"} <= covered
    assert {"FAMILY_LIMIT_REACHED", "PAID"} <= covered and {"DUPLICATE_CLAIM", "DUPLICATE_LINE"} & covered
    assert len(covered) >= 15
    assert len(expected["ledger"]) >= 20
    assert Claim.objects.exclude(status=Claim.Status.PENDING).count() == len(selected)
    assert naive["claims"] == expected["claims"]
    assert naive["lines"] == expected["lines"]
    assert naive["ledger"] == expected["ledger"]
