"""The naive baseline (bench/naive_adjudication.py) decides every claim as the set-based engine does.

bench.bulk_claims publishes a ratio of the two; it means something only if both compute the same thing.
On the demo scheme (every outcome and reason code, families sharing limits, duplicates, pre-authorisations)
the engine decides every claim in one call, what it wrote is kept, the transaction is rolled back, and the
naive baseline decides the same pending claims one at a time, family by family in the rules' order.
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


def test_the_naive_baseline_decides_every_claim_and_pays_the_ledger_as_the_engine_does():
    demo_data_seed(members=40, claims=200, seed=7, today=SEEDED_ON)
    ids = list(Claim.objects.values_list("id", flat=True))
    with transaction.atomic():
        adjudicate_claims(ids)
        engine = decisions_snapshot(ids)
        transaction.set_rollback(True)
    assert Claim.objects.filter(status=Claim.Status.PENDING).count() == len(ids)
    assert not BenefitLedger.objects.exists()

    for family_claims in claims_by_family(Claim.objects.all()).values():
        for claim_id in family_claims:
            adjudicate_claim_naive(claim_id)
    naive = decisions_snapshot(ids)

    # What the comparison covers: every claim decided, every outcome, reason codes that depend on the
    # claims before them in the family (limits, duplicates), and a ledger.
    statuses = Counter(status for status, *_ in engine["claims"].values())
    assert sum(statuses.values()) == len(ids) and not statuses[Claim.Status.PENDING]
    assert all(statuses[status] for status in ("approved", "partially_approved", "rejected"))
    reasons = {code for *_, codes in engine["lines"].values() for code in codes.split(",")}
    assert {"FAMILY_LIMIT_REACHED", "DUPLICATE_CLAIM", "PAID"} <= reasons and len(reasons) >= 15
    assert len(engine["ledger"]) >= 100
    assert naive["claims"] == engine["claims"]
    assert naive["lines"] == engine["lines"]
    assert naive["ledger"] == engine["ledger"]
