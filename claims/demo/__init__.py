"""Demo data: a realistic scheme whose pending claims reach every adjudication reason (`seed_demo_data`).

Everything is drawn from one `random.Random(seed)` and dated relative to `today`, so the same seed,
starting database and day give the same rows. Numbers (membership, claim, pre-authorisation, scheme
code, practice) continue after what the database already holds, so a second run adds a second set.
Rows are built in memory and written with `bulk_create`: 20,000 members and 100,000 claims take seconds.

catalogue.py holds what the scheme is made of, people.py builds the scheme and its families,
scenarios.py the claims, rows.py writes them.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone

from claims.demo.people import PeopleMixin
from claims.demo.rows import WritingMixin
from claims.demo.scenarios import ClaimsMixin
from core import cache as reference_cache

logger = logging.getLogger(__name__)


@dataclass
class _Seeder(PeopleMixin, ClaimsMixin, WritingMixin):
    rng: random.Random
    today: date
    members: int
    claims: int
    preauths: list = field(default_factory=list)
    reserved: set = field(default_factory=set)  # ids of people a scenario uses (see normal())
    counts: dict = field(default_factory=dict)


@transaction.atomic
def demo_data_seed(*, members: int, claims: int, seed: int = 42, today: date | None = None) -> dict:
    """Create a demo scheme with `members` members (in families) and `claims` pending claims; return counts."""
    if members < 1 or claims < 0:
        raise ValueError("members must be at least 1 and claims at least 0")
    seeder = _Seeder(rng=random.Random(seed), today=today or timezone.localdate(), members=members, claims=claims)
    seeder.reserve_numbers()
    seeder.create_price_list()
    seeder.create_scheme()
    seeder.create_providers()
    seeder.create_members()
    seeder.create_claims()
    for kind in reference_cache.KINDS:  # bulk_create sends no signal: supersede what is cached by hand
        reference_cache.reference_invalidate(kind)
    logger.info("Demo data seeded: %s", seeder.counts)
    return seeder.counts
