"""The text and HTML of claim-decision e-mails, rendered from templates for a whole batch at once."""

from __future__ import annotations

from collections import defaultdict

from django.template.loader import render_to_string

from claims.adjudication.reasons import DESCRIPTIONS
from claims.models import Claim, ClaimLine
from providers.models import Provider

OUTCOMES = {
    "approved": "approved",
    "partially_approved": "partially approved",
    "rejected": "rejected",
    "pending": "still being assessed",
    "pended": "still being assessed",
}


def reasons_in_words(codes: str) -> list[str]:
    return [DESCRIPTIONS.get(code, code) for code in codes.split(",") if code]


def claim_email_contents(*, claim_ids: list[int]) -> dict[int, tuple[str, str]]:
    """(text, html) of the decision e-mail of each claim, in three queries for the whole batch."""
    if not claim_ids:
        return {}
    claims = list(
        Claim.objects.filter(id__in_ids=claim_ids).values(
            "id",
            "claim_number",
            "status",
            "reason_code",
            "service_date",
            "practice_number",
            "total_claimed",
            "total_eligible",
            "total_copay",
            "total_benefit",
            "decision_round",
            "member__first_name",
            "member__last_name",
            "member__principal__first_name",
        )
    )
    lines = defaultdict(list)
    for line in (
        ClaimLine.objects.filter(claim_id__in_ids=claim_ids)
        .order_by("claim_id", "line_number")
        .values("claim_id", "line_number", "tariff_code", "claimed_amount", "benefit_amount", "reason_codes")
    ):
        line["reasons"] = reasons_in_words(line["reason_codes"])
        lines[line["claim_id"]].append(line)
    providers = dict(
        Provider.objects.filter(practice_number__in={c["practice_number"] for c in claims}).values_list(
            "practice_number", "name"
        )
    )
    contents = {}
    for claim in claims:
        context = {
            "claim": claim,
            "outcome": OUTCOMES.get(claim["status"], claim["status"]),
            "greeting_name": claim["member__principal__first_name"] or claim["member__first_name"],
            "patient": f"{claim['member__first_name']} {claim['member__last_name']}",
            "provider": providers.get(claim["practice_number"], claim["practice_number"]),
            "claim_reasons": reasons_in_words(claim["reason_code"]),
            "lines": lines.get(claim["id"], []),
        }
        contents[claim["id"]] = (
            render_to_string("notifications/claim_decision.txt", context),
            render_to_string("notifications/claim_decision.html", context),
        )
    return contents
