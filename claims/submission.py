"""Claim submission: store claims as the provider sent them, for the adjudication to decide later.

The shape of a claim is checked by the API's serializer (claims/api/claims.py); this module checks what only
the database can tell (the member exists, the claim number is new) and writes each claim with its
lines in one transaction. What the adjudication judges (an unknown practice number, a malformed
ICD-10 code, a service date after receipt) is stored as given and rejected there, with a reason code.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from claims.models import Claim, ClaimLine
from members.models import Member


class ClaimSubmissionError(ValueError):
    """The claims cannot be stored; `errors` maps field names to messages (per item index for a batch)."""

    def __init__(self, errors: dict):
        super().__init__(str(errors))
        self.errors = errors


def claim_submit(*, data: dict) -> Claim:
    """Store one claim with its lines, or nothing (raises ClaimSubmissionError)."""
    try:
        return claims_submit_batch(items=[data])[0]
    except ClaimSubmissionError as error:
        raise ClaimSubmissionError(error.errors[0]) from None


def claims_submit_batch(*, items: list[dict]) -> list[Claim]:
    """Store every claim with its lines, or none of them; errors are reported per item index.

    Each item: claim_number, membership_number, dependant_code, practice_number, service_date,
    received_at (optional, now when absent) and lines (tariff_code, icd10_codes as a list,
    quantity, claimed_amount).
    """
    members = _members_for(items)
    errors = _check(items, members)
    if errors:
        raise ClaimSubmissionError(errors)
    now = timezone.now()
    claims = [
        Claim(
            claim_number=item["claim_number"],
            member=members[(item["membership_number"], item["dependant_code"])],
            practice_number=item["practice_number"],
            service_date=item["service_date"],
            received_at=item.get("received_at") or now,
            total_claimed=sum((Decimal(line["claimed_amount"]) for line in item["lines"]), Decimal("0")),
        )
        for item in items
    ]
    try:
        with transaction.atomic():
            Claim.objects.bulk_create(claims)
            ClaimLine.objects.bulk_create(
                [
                    ClaimLine(
                        claim=claim,
                        line_number=number,
                        tariff_code=line["tariff_code"],
                        icd10_codes=",".join(line["icd10_codes"]),
                        quantity=line["quantity"],
                        claimed_amount=line["claimed_amount"],
                    )
                    for claim, item in zip(claims, items, strict=True)
                    for number, line in enumerate(item["lines"], start=1)
                ]
            )
    except IntegrityError:
        # Another request stored one of these claim numbers between our check and our insert.
        errors = _check(items, members)
        if not errors:
            raise
        raise ClaimSubmissionError(errors) from None
    return claims


def _members_for(items: list[dict]) -> dict[tuple[str, str], Member]:
    keys = {(item["membership_number"], item["dependant_code"]) for item in items}
    # By membership number only (one IN list, not hundreds of ORs), then the pairs in Python.
    families = Member.objects.filter(membership_number__in={number for number, _ in keys})
    found = {(m.membership_number, m.dependant_code): m for m in families}
    return {key: member for key, member in found.items() if key in keys}


def _check(items: list[dict], members: dict) -> dict[int, dict[str, list[str]]]:
    numbers = [item["claim_number"] for item in items]
    taken = set(Claim.objects.filter(claim_number__in=numbers).values_list("claim_number", flat=True))
    first_at: dict[str, int] = {}
    errors: dict[int, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        problems: dict[str, list[str]] = {}
        number = item["claim_number"]
        if number in taken:
            problems["claim_number"] = [f"A claim with claim number {number!r} already exists."]
        elif number in first_at:
            problems["claim_number"] = [f"Claim number {number!r} is also used by claim {first_at[number]} above."]
        first_at.setdefault(number, index)
        if (item["membership_number"], item["dependant_code"]) not in members:
            problems["membership_number"] = [
                f"No member {item['membership_number']}-{item['dependant_code']} "
                "(membership number and dependant code)."
            ]
        lines = _line_problems(item["lines"])
        if lines:
            problems["lines"] = lines
        if problems:
            errors[index] = problems
    return errors


def _line_problems(lines: list[dict]) -> list[str]:
    """What the database's constraints would refuse, said per line (the API's serializer checks it first; a
    caller that skips it gets these errors, not an IntegrityError)."""
    problems = []
    for number, line in enumerate(lines, start=1):
        quantity, amount = line.get("quantity"), line.get("claimed_amount")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            problems.append(f"Line {number}: the quantity must be a whole number of at least 1.")
        try:
            amount = Decimal(str(amount))
            valid = amount.is_finite() and amount >= Decimal("0.01") and amount == amount.quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            valid = False
        if not valid:
            problems.append(f"Line {number}: the amount claimed must be more than 0, in rand and cents.")
    return problems
