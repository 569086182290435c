"""Reads of members. Their benefit balances are sums of the claims ledger: claims/selectors.py."""

from __future__ import annotations

from members.models import Member


def member_get(*, membership_number: str, dependant_code: str) -> Member | None:
    return (
        Member.objects.select_related("plan", "plan__scheme")
        .filter(membership_number=membership_number, dependant_code=dependant_code)
        .first()
    )
