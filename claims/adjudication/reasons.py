"""Reason codes stored on decided claims and lines; every decision is explained by them and its amounts."""

from enum import StrEnum


class Reason(StrEnum):
    # Claim level: the whole claim is rejected, checked in this order.
    PROVIDER_UNKNOWN = "PROVIDER_UNKNOWN"
    PROVIDER_SUSPENDED = "PROVIDER_SUSPENDED"
    MEMBER_NOT_ACTIVE = "MEMBER_NOT_ACTIVE"
    NO_COVER = "NO_COVER"
    SERVICE_DATE_IN_FUTURE = "SERVICE_DATE_IN_FUTURE"
    CLAIM_WINDOW_EXPIRED = "CLAIM_WINDOW_EXPIRED"
    DUPLICATE_CLAIM = "DUPLICATE_CLAIM"
    NO_LINES = "NO_LINES"
    # Line level: the line is rejected at the first failure, checked in this order.
    QUANTITY_INVALID = "QUANTITY_INVALID"
    AMOUNT_INVALID = "AMOUNT_INVALID"
    DUPLICATE_LINE = "DUPLICATE_LINE"
    TARIFF_UNKNOWN = "TARIFF_UNKNOWN"
    TARIFF_NOT_VALID = "TARIFF_NOT_VALID"
    TARIFF_PRICE_INVALID = "TARIFF_PRICE_INVALID"
    BENEFIT_NOT_ON_PLAN = "BENEFIT_NOT_ON_PLAN"
    ICD10_INVALID = "ICD10_INVALID"
    WAITING_PERIOD_GENERAL = "WAITING_PERIOD_GENERAL"
    WAITING_PERIOD_CONDITION = "WAITING_PERIOD_CONDITION"
    WAITING_PERIOD_CATEGORY = "WAITING_PERIOD_CATEGORY"
    PREAUTH_MISSING = "PREAUTH_MISSING"
    PREAUTH_EXPIRED = "PREAUTH_EXPIRED"
    # No longer given (issue 13: a pre-authorisation is a budget, PREAUTH_LIMIT_APPLIED); kept so that lines
    # decided before still read in plain words.
    PREAUTH_EXCEEDED = "PREAUTH_EXCEEDED"
    # Pended (issue 13): a line that passed the rules above but must be seen by an assessor before it is paid;
    # its claim waits, status `pended`, with the first line's code as the claim's reason.
    PENDED_TARIFF_REVIEW = "PENDED_TARIFF_REVIEW"
    PENDED_REVIEW_THRESHOLD = "PENDED_REVIEW_THRESHOLD"
    PENDED_NEAR_DUPLICATE = "PENDED_NEAR_DUPLICATE"
    # The assessor's decision on a pended claim's line.
    ASSESSOR_REJECTED = "ASSESSOR_REJECTED"
    # Amounts on a line that passed the rules (several may apply; when the benefit comes to zero the line is
    # rejected and the last one is what made it zero).
    TARIFF_RATE_APPLIED = "TARIFF_RATE_APPLIED"
    COPAY_APPLIED = "COPAY_APPLIED"
    PREAUTH_LIMIT_APPLIED = "PREAUTH_LIMIT_APPLIED"
    EVENT_CAP_APPLIED = "EVENT_CAP_APPLIED"
    MEMBER_LIMIT_REACHED = "MEMBER_LIMIT_REACHED"
    FAMILY_LIMIT_REACHED = "FAMILY_LIMIT_REACHED"
    PAID = "PAID"


DESCRIPTIONS = {
    Reason.PROVIDER_UNKNOWN: "The practice number is not registered with the scheme.",
    Reason.PROVIDER_SUSPENDED: "The provider is suspended.",
    Reason.MEMBER_NOT_ACTIVE: "The member, or the family's principal, was suspended or terminated on the service date.",
    Reason.NO_COVER: "The member, or the family's principal, had no cover on the service date.",
    Reason.SERVICE_DATE_IN_FUTURE: "The service date is after the date the claim was received.",
    Reason.CLAIM_WINDOW_EXPIRED: (
        "The claim was received after the claim window closed (a number of days after the service date, or the "
        "end of the fourth month after the month of service)."
    ),
    Reason.DUPLICATE_CLAIM: "The same claim (member, provider, date, codes and amounts) was already accepted.",
    Reason.NO_LINES: "The claim has no lines.",
    Reason.QUANTITY_INVALID: "The quantity is not a whole number of at least 1.",
    Reason.AMOUNT_INVALID: "The amount claimed is zero, negative or not an amount in rand and cents.",
    Reason.DUPLICATE_LINE: (
        "The same service (member, provider, service date, tariff code) was already paid, on another claim or "
        "earlier on this one."
    ),
    Reason.TARIFF_UNKNOWN: "The tariff code is not on the scheme's price list.",
    Reason.TARIFF_NOT_VALID: "The tariff code was not valid on the service date.",
    Reason.TARIFF_PRICE_INVALID: "The scheme's price for this tariff code is zero, negative or unreadable.",
    Reason.BENEFIT_NOT_ON_PLAN: "The member's plan has no benefit for this kind of service.",
    Reason.ICD10_INVALID: "A diagnosis code is missing or not a well-formed ICD-10 code.",
    Reason.WAITING_PERIOD_GENERAL: "The member is in a general waiting period.",
    Reason.WAITING_PERIOD_CONDITION: "The member is in a waiting period for this diagnosis.",
    Reason.WAITING_PERIOD_CATEGORY: "The member is in a waiting period for this benefit.",
    Reason.PREAUTH_MISSING: "This service needs a pre-authorisation and none was found.",
    Reason.PREAUTH_EXPIRED: "The pre-authorisation was not valid on the service date.",
    Reason.PREAUTH_EXCEEDED: "The amount was above what was pre-authorised (a decision from before budgets).",
    Reason.PENDED_TARIFF_REVIEW: "This service is reviewed by an assessor before it is paid.",
    Reason.PENDED_REVIEW_THRESHOLD: "The amount is above what the plan pays without an assessor's review.",
    Reason.PENDED_NEAR_DUPLICATE: (
        "The same service for the same member on the same day was already paid to another provider; an assessor "
        "reviews it."
    ),
    Reason.ASSESSOR_REJECTED: "An assessor reviewed this line and rejected it.",
    Reason.TARIFF_RATE_APPLIED: "Paid at the scheme tariff, below the amount claimed.",
    Reason.COPAY_APPLIED: "A co-payment applies to this benefit.",
    Reason.PREAUTH_LIMIT_APPLIED: "Paid up to what remains of the pre-authorised amount.",
    Reason.EVENT_CAP_APPLIED: "The benefit's per-event cap was reached.",
    Reason.MEMBER_LIMIT_REACHED: "The member's annual limit for this benefit ran out.",
    Reason.FAMILY_LIMIT_REACHED: "The family's annual limit for this benefit ran out.",
    Reason.PAID: "Paid in full at the scheme rate.",
}

CLAIM_LEVEL = (
    Reason.PROVIDER_UNKNOWN,
    Reason.PROVIDER_SUSPENDED,
    Reason.MEMBER_NOT_ACTIVE,
    Reason.NO_COVER,
    Reason.SERVICE_DATE_IN_FUTURE,
    Reason.CLAIM_WINDOW_EXPIRED,
    Reason.DUPLICATE_CLAIM,
    Reason.NO_LINES,
)

# Why a claim is pended, in the order they are checked on a line.
PENDED = (Reason.PENDED_TARIFF_REVIEW, Reason.PENDED_REVIEW_THRESHOLD, Reason.PENDED_NEAR_DUPLICATE)

# Given by an assessor, never by the rules alone.
BY_AN_ASSESSOR = (Reason.ASSESSOR_REJECTED,)

# Codes no longer given, kept so that lines decided before still read in plain words.
RETIRED = (Reason.PREAUTH_EXCEEDED,)

# Line-level codes for rows the database's constraints refuse (claims/migrations/0003_valid_amounts.py): valid
# data never reaches them; they decide rows that got in around the constraints (older rows, a restored dump).
REFUSED_BY_THE_DATABASE = (Reason.QUANTITY_INVALID, Reason.AMOUNT_INVALID, Reason.TARIFF_PRICE_INVALID)
