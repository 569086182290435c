"""Writing the demo claims: the two big tables as plain rows through core/db.py.

bulk_create spent ~20 s of a 40 s run of 100,000 claims compiling and adapting values, and building the
model instances took most of the rest; core.db.insert_rows takes the rows as they are.
"""

from __future__ import annotations

from decimal import Decimal

from claims.demo.catalogue import BATCH_SIZE, _Draft
from claims.models import Claim, ClaimLine, PreAuthorisation
from core.db import insert_rows

CLAIM_COLUMNS = (
    "claim_number",
    "member",
    "practice_number",
    "service_date",
    "received_at",
    "status",
    "reason_code",
    "total_claimed",
    "total_eligible",
    "total_copay",
    "total_benefit",
)
LINE_COLUMNS = (
    "claim",
    "line_number",
    "tariff_code",
    "icd10_codes",
    "quantity",
    "claimed_amount",
    "eligible_amount",
    "copay_amount",
    "benefit_amount",
    "benefit_code",
    "outcome",
    "reason_codes",
)


class WritingMixin:
    """The seeder's last step: pre-authorisations, claims and lines into the database (of _Seeder)."""

    def write_claims(self, drafts: list[_Draft]) -> None:
        """Claims numbered in the order received; the two big tables go in as plain rows (core.db.insert_rows)."""
        PreAuthorisation.objects.bulk_create(self.preauths, batch_size=BATCH_SIZE)
        order = sorted(range(len(drafts)), key=lambda i: (drafts[i].received_at, i))
        zero, pending = Decimal("0.00"), Claim.Status.PENDING
        claim_rows = []
        for i in order:
            draft = drafts[i]
            total = sum((line[3] for line in draft.lines), zero)
            claim_rows.append(
                (
                    f"CLM{self.next_claim:010d}",
                    draft.person.member.pk,
                    draft.practice_number,
                    draft.service_date,
                    draft.received_at,
                    pending,
                    "",
                    total,
                    zero,
                    zero,
                    zero,
                )
            )
            self.next_claim += 1
        claim_ids = insert_rows(Claim, CLAIM_COLUMNS, claim_rows, returning=True)
        line_rows = []
        for claim_id, i in zip(claim_ids, order, strict=True):
            for number, (code, icd10, quantity, claimed) in enumerate(drafts[i].lines, start=1):
                line_rows.append(
                    (
                        claim_id,
                        number,
                        code,
                        icd10,
                        quantity,
                        claimed,
                        zero,
                        zero,
                        zero,
                        "",
                        ClaimLine.Outcome.PENDING,
                        "",
                    )
                )
        insert_rows(ClaimLine, LINE_COLUMNS, line_rows)
        self.counts.update(preauthorisations=len(self.preauths), claims=len(claim_rows), claim_lines=len(line_rows))
