"""Writing the demo claims: the two big tables as plain rows, COPY on PostgreSQL, executemany elsewhere."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection

from claims.demo.catalogue import BATCH_SIZE, _Draft
from claims.models import Claim, ClaimLine, PreAuthorisation

CLAIM_COLUMNS = (
    "claim_number", "member", "practice_number", "service_date", "received_at", "status", "reason_code",
    "total_claimed", "total_eligible", "total_copay", "total_benefit",
)  # fmt: skip
LINE_COLUMNS = (
    "claim", "line_number", "tariff_code", "icd10_codes", "quantity", "claimed_amount", "eligible_amount",
    "copay_amount", "benefit_amount", "benefit_code", "outcome", "reason_codes",
)  # fmt: skip


def insert_rows(model, field_names, rows) -> None:
    """Insert plain tuples: COPY on PostgreSQL, executemany elsewhere.

    bulk_create spent ~20 s of a 40 s run of 100,000 claims compiling and adapting values, and building
    the model instances took most of the rest; COPY and executemany take the rows as they are.
    """
    fields = [model._meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    table, columns = quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # What bulk_create would send, adapted only where the driver needs it (an aware datetime for SQLite).
        adapt = {
            i: connection.ops.adapt_datetimefield_value
            for i, f in enumerate(fields)
            if f.get_internal_type() == "DateTimeField"
        }
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start : start + BATCH_SIZE]
            if adapt:
                batch = [tuple(adapt[i](v) if i in adapt else v for i, v in enumerate(row)) for row in batch]
            cursor.executemany(sql, batch)


class WritingMixin:
    """The seeder's last step: pre-authorisations, claims and lines into the database (of _Seeder)."""

    def write_claims(self, drafts: list[_Draft]) -> None:
        """Claims numbered in the order received; the two big tables go in as plain rows (see rows.insert_rows)."""
        PreAuthorisation.objects.bulk_create(self.preauths, batch_size=BATCH_SIZE)
        order = sorted(range(len(drafts)), key=lambda i: (drafts[i].received_at, i))
        zero, pending = Decimal("0.00"), Claim.Status.PENDING
        first = self.next_claim
        claim_rows = []
        for i in order:
            draft = drafts[i]
            total = sum((line[3] for line in draft.lines), zero)
            claim_rows.append((
                f"CLM{self.next_claim:010d}", draft.person.member.pk, draft.practice_number, draft.service_date,
                draft.received_at, pending, "", total, zero, zero, zero,
            ))  # fmt: skip
            self.next_claim += 1
        insert_rows(Claim, CLAIM_COLUMNS, claim_rows)
        ids = dict(
            Claim.objects.filter(claim_number__gte=f"CLM{first:010d}", claim_number__lt=f"CLM{self.next_claim:010d}")
            .values_list("claim_number", "id")
            .iterator(chunk_size=10_000)
        )
        line_rows = []
        for row, i in zip(claim_rows, order, strict=True):
            claim_id = ids[row[0]]
            for number, (code, icd10, quantity, claimed) in enumerate(drafts[i].lines, start=1):
                line_rows.append((claim_id, number, code, icd10, quantity, claimed, zero, zero, zero, "",
                                  ClaimLine.Outcome.PENDING, ""))  # fmt: skip
        insert_rows(ClaimLine, LINE_COLUMNS, line_rows)
        self.counts.update(preauthorisations=len(self.preauths), claims=len(claim_rows), claim_lines=len(line_rows))
