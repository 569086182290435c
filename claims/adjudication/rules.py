"""The adjudication rules, in plain Python over plain data: no ORM, no I/O.

`adjudicate_family` decides one family's pending claims in a fixed order (service date, receipt,
claim number), carrying benefit usage from one claim to the next, so the outcome depends neither on
how claims are split between workers nor on the order their IDs were given. The set-based chunk
(engine.py) and the naive baseline (bench/naive_adjudication.py) both call it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .reasons import Reason

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
HUNDRED = Decimal("100")
# ICD-10 (WHO): a letter (U included: U07.1 is COVID-19), two digits (the third may be A/B in some
# chapters), then an optional dot and up to four more characters, e.g. J06.9, E11, S52.52.
ICD10 = re.compile(r"^[A-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?$")

APPROVED, PARTIAL, REJECTED = "approved", "partial", "rejected"
PENDED, NOT_DECIDED = "pended", "pending"  # a line flagged for an assessor; a line of a pended claim, not flagged
CLAIM_APPROVED, CLAIM_PARTIAL, CLAIM_REJECTED = "approved", "partially_approved", "rejected"
CLAIM_PENDED = "pended"
ACCEPTED_CLAIM_STATUSES = (CLAIM_APPROVED, CLAIM_PARTIAL)
REVIEW_APPROVE, REVIEW_REJECT = "approve", "reject"  # an assessor's decision on a line (ClaimLine.Review)


@dataclass(frozen=True, slots=True)
class LineIn:
    id: int
    tariff_code: str
    icd10_codes: str
    quantity: int
    claimed: Decimal
    review: str = ""  # an assessor's decision: "" (none), REVIEW_APPROVE or REVIEW_REJECT


@dataclass(frozen=True, slots=True)
class ClaimIn:
    id: int
    claim_number: str
    member_id: int
    practice_number: str
    service_date: date
    received_at: datetime
    lines: tuple[LineIn, ...]

    @property
    def order_key(self):
        return (self.service_date, self.received_at, self.claim_number)

    def fingerprint(self):
        """What makes two claims the same claim (DUPLICATE_CLAIM): a whole resubmission, diagnoses included.

        A resubmission whose rejected line was corrected (a diagnosis code, say) is a different claim: its
        lines already paid are then rejected one by one as DUPLICATE_LINE and the corrected one is decided.
        """
        items = tuple(
            sorted(
                (line.tariff_code, line.quantity, _comparable(line.claimed), _diagnoses(line)) for line in self.lines
            )
        )
        return (self.member_id, self.practice_number, self.service_date, items)

    def line_key(self, line: LineIn) -> tuple:
        """What makes two lines the same service (DUPLICATE_LINE), whatever amount or quantity was billed."""
        return (self.member_id, self.practice_number, self.service_date, line.tariff_code)


def _diagnoses(line: LineIn) -> tuple[str, ...]:
    return tuple(sorted({part.strip().upper() for part in str(line.icd10_codes).split(",") if part.strip()}))


def _comparable(amount) -> tuple:
    """An amount that sorts and hashes even when it is NaN (a row that bypassed validation is rejected by the
    line rules; it must not crash the duplicate check before them)."""
    if isinstance(amount, Decimal | int) and Decimal(amount).is_finite():
        return (0, amount)
    return (1, str(amount))


@dataclass(frozen=True, slots=True)
class Period:
    """A membership period (issue 13): status and plan option from valid_from to valid_to (None = open)."""

    valid_from: date
    valid_to: date | None
    status: str
    plan_id: int


@dataclass(frozen=True, slots=True)
class MemberInfo:
    id: int
    family_id: int
    plan_id: int
    status: str
    status_since: date
    cover_start: date
    cover_end: date | None
    # The history, in date order; empty for a member recorded only by today's fields (then status before
    # status_since was active, on today's plan).
    periods: tuple[Period, ...] = ()

    def in_force(self, day: date) -> tuple[str, int] | None:
        """(status, plan id) on `day`; None when no period covers it."""
        if not self.periods:
            return ("active" if self.status == "active" or day < self.status_since else self.status), self.plan_id
        for period in self.periods:
            if period.valid_from <= day and (period.valid_to is None or day <= period.valid_to):
                return period.status, period.plan_id
        return None


@dataclass(frozen=True, slots=True)
class ProviderPeriod:
    """A provider's status from valid_from to valid_to (None = open); outside every period: active."""

    valid_from: date
    valid_to: date | None
    status: str


@dataclass(frozen=True, slots=True)
class Benefit:
    code: str
    limit_member: Decimal | None
    limit_family: Decimal | None
    copay_percent: Decimal
    per_event_cap: Decimal | None
    requires_preauth: bool
    review_threshold: Decimal | None = None  # a line claiming more waits for an assessor (None: never)


@dataclass(frozen=True, slots=True)
class Tariff:
    valid_from: date
    valid_to: date | None
    unit_price: Decimal
    benefit_code: str
    requires_review: bool = False  # a line billing it waits for an assessor


@dataclass(frozen=True, slots=True)
class WaitingPeriod:
    kind: str  # general | condition | category
    icd10_prefix: str
    benefit_code: str
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class PreAuth:
    practice_number: str
    tariff_code: str
    benefit_code: str
    amount: Decimal
    valid_from: date
    valid_to: date
    id: int = 0  # what its draw-down is kept under (Usage.preauth_drawn, the ledger's preauth column)


@dataclass
class Reference:
    """Everything the rules read, keyed for lookups; loaded in bulk by the caller."""

    providers: dict[str, str]  # practice number -> status
    members: dict[int, MemberInfo]
    benefits: dict[int, dict[str, Benefit]]  # plan id -> benefit code -> Benefit
    tariffs: dict[str, list[Tariff]]
    waiting_periods: dict[int, list[WaitingPeriod]]  # member id -> ...
    preauths: dict[int, list[PreAuth]]  # member id -> ...
    claim_window_days: int = 120
    # "days": received at most claim_window_days after the service date; "regulation6": by the end of the
    # fourth month after the month of service (Medical Schemes Act regulation 6).
    claim_window_policy: str = "days"
    time_zone: tzinfo | None = None  # the scheme's: the day a claim was received is the day there (None: as given)
    provider_periods: dict[str, tuple[ProviderPeriod, ...]] = field(default_factory=dict)  # practice number -> ...


@dataclass
class Usage:
    """Benefit used so far in a benefit year, per member and per family; updated as claims are decided."""

    member: dict[tuple[int, str, int], Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    family: dict[tuple[int, str, int], Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    accepted: set = field(default_factory=set)  # fingerprints of accepted claims (duplicates)
    paid_lines: set = field(default_factory=set)  # ClaimIn.line_key of every line that paid (DUPLICATE_LINE)
    # (member, service date, tariff code) of every line that paid, whatever the provider (PENDED_NEAR_DUPLICATE).
    paid_services: set = field(default_factory=set)
    # Benefit paid against each pre-authorisation so far (its id -> amount), whatever the benefit year.
    preauth_drawn: dict[int, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))


@dataclass(slots=True)
class LineDecision:
    line_id: int
    outcome: str
    eligible: Decimal
    copay: Decimal
    benefit: Decimal
    benefit_code: str
    reasons: tuple[str, ...]
    preauth_id: int | None = None  # the pre-authorisation this line's benefit is drawn from


@dataclass(slots=True)
class ClaimDecision:
    claim_id: int
    member_id: int
    family_id: int | None
    status: str
    reason_code: str
    lines: list[LineDecision]
    benefit_year: int

    @property
    def totals(self) -> tuple[Decimal, Decimal, Decimal]:
        return (
            sum((line.eligible for line in self.lines), ZERO),
            sum((line.copay for line in self.lines), ZERO),
            sum((line.benefit for line in self.lines), ZERO),
        )


def adjudicate_family(claims: list[ClaimIn], ref: Reference, usage: Usage) -> list[ClaimDecision]:
    """Decide a family's claims in the fixed order; `usage` carries what each decision used."""
    return [adjudicate_claim(claim, ref, usage) for claim in sorted(claims, key=lambda c: c.order_key)]


def adjudicate_claim(claim: ClaimIn, ref: Reference, usage: Usage) -> ClaimDecision:
    member = ref.members.get(claim.member_id)
    reason = _claim_rejection(claim, member, ref, usage)
    year = claim.service_date.year
    family_id = member.family_id if member else None
    if reason:
        lines = [LineDecision(line.id, REJECTED, ZERO, ZERO, ZERO, "", (reason,)) for line in claim.lines]
        return ClaimDecision(claim.id, claim.member_id, family_id, CLAIM_REJECTED, reason, lines, year)

    benefits = ref.benefits.get(_plan_on(member, claim.service_date, ref), {})
    event_used: dict[str, Decimal] = defaultdict(lambda: ZERO)  # per-event cap: per claim and benefit
    paid: list[tuple] = []  # what this claim's paid lines added to `usage`
    lines = [_adjudicate_line(claim, line, member, benefits, ref, usage, event_used, paid) for line in claim.lines]
    pended = [line for line in lines if line.outcome == PENDED]
    if pended:  # the claim waits for an assessor: nothing is paid, nothing counts against the limits yet
        _take_back(usage, paid)
        lines = [
            line if line.outcome == PENDED else LineDecision(line.line_id, NOT_DECIDED, ZERO, ZERO, ZERO, "", ())
            for line in lines
        ]
        return ClaimDecision(claim.id, claim.member_id, family_id, CLAIM_PENDED, pended[0].reasons[0], lines, year)
    outcomes = {line.outcome for line in lines}
    status = CLAIM_APPROVED if outcomes == {APPROVED} else CLAIM_REJECTED if outcomes == {REJECTED} else CLAIM_PARTIAL
    if status in ACCEPTED_CLAIM_STATUSES:
        usage.accepted.add(claim.fingerprint())
    return ClaimDecision(claim.id, claim.member_id, family_id, status, "", lines, year)


def _plan_on(member: MemberInfo, day: date, ref: Reference) -> int:
    """The plan option in force on `day`: the principal's, since a family is on one plan option (issue 13)."""
    principal = ref.members.get(member.family_id, member)
    state = principal.in_force(day) or member.in_force(day)
    return state[1] if state else member.plan_id


def _provider_status(claim: ClaimIn, ref: Reference) -> str | None:
    status = ref.providers.get(claim.practice_number)
    periods = ref.provider_periods.get(claim.practice_number)
    if status is None or not periods:
        return status  # unknown, or judged by today's status on every date (no history recorded)
    day = claim.service_date
    for period in periods:
        if period.valid_from <= day and (period.valid_to is None or day <= period.valid_to):
            return period.status
    return "active"


def _covered(member: MemberInfo, day: date) -> bool:
    return member.cover_start <= day and (member.cover_end is None or day <= member.cover_end)


def received_on(claim: ClaimIn, ref: Reference) -> date:
    """The day the claim was received, in the scheme's time zone: 00:30 in Johannesburg is 22:30 UTC the day
    before, and a claim for that morning's service is not from the future (issue 13)."""
    received = claim.received_at
    if ref.time_zone is not None and received.tzinfo is not None:
        received = received.astimezone(ref.time_zone)
    return received.date()


def window_closes(day: date, ref: Reference) -> date:
    """The last day a claim for a service on `day` may be received."""
    if ref.claim_window_policy == "regulation6":  # the last day of the fourth month after the month of service
        month = day.month + 4  # the month after that one, day 1, less a day
        first_after = date(day.year + (month // 12), month % 12 + 1, 1)
        return first_after - timedelta(days=1)
    return day + timedelta(days=ref.claim_window_days)


def _claim_rejection(claim: ClaimIn, member: MemberInfo | None, ref: Reference, usage: Usage) -> str:
    provider_status = _provider_status(claim, ref)
    if provider_status is None:
        return Reason.PROVIDER_UNKNOWN
    if provider_status != "active":
        return Reason.PROVIDER_SUSPENDED
    day = claim.service_date
    if member is None:
        return Reason.MEMBER_NOT_ACTIVE
    # The period in force on the service date, however the member stands today; a dependant's cover ends
    # (and is suspended) with the principal's.
    principal = ref.members.get(member.family_id) if member.family_id != member.id else None
    states = [member.in_force(day)] + ([principal.in_force(day)] if principal else [])
    if any(state is not None and state[0] != "active" for state in states):
        return Reason.MEMBER_NOT_ACTIVE
    if None in states or not _covered(member, day) or (principal is not None and not _covered(principal, day)):
        return Reason.NO_COVER
    received = received_on(claim, ref)
    if day > received:
        return Reason.SERVICE_DATE_IN_FUTURE
    if received > window_closes(day, ref):
        return Reason.CLAIM_WINDOW_EXPIRED
    if claim.fingerprint() in usage.accepted:
        return Reason.DUPLICATE_CLAIM
    if not claim.lines:
        return Reason.NO_LINES
    return ""


def _review_flag(claim, line, tariff, benefit, usage) -> str:
    """Why an assessor must see this line before it is paid (a PENDED_* reason), or "". Asked only of a line
    the rules would pay something on; not once an assessor has decided it."""
    if line.review:
        return ""
    if tariff.requires_review:
        return Reason.PENDED_TARIFF_REVIEW
    if _above(line.claimed, benefit.review_threshold):
        return Reason.PENDED_REVIEW_THRESHOLD
    if (claim.member_id, claim.service_date, line.tariff_code) in usage.paid_services:
        return Reason.PENDED_NEAR_DUPLICATE  # the same provider's would have been DUPLICATE_LINE: another's
    return ""


def _take_back(usage: Usage, paid: list[tuple]) -> None:
    """Undo what a pended claim's paid lines added to `usage` (in memory only: nothing was written)."""
    for member_key, family_key, pay, line_key, service_key, preauth_id in paid:
        usage.member[member_key] -= pay
        usage.family[family_key] -= pay
        usage.paid_lines.discard(line_key)
        if service_key is not None:
            usage.paid_services.discard(service_key)
        if preauth_id is not None:
            usage.preauth_drawn[preauth_id] -= pay


def _above(amount, threshold) -> bool:
    if threshold is None or not isinstance(threshold, Decimal | int) or not Decimal(threshold).is_finite():
        return False
    return Decimal(amount) > threshold


def _line_checked(claim, line, member, benefits, ref, usage) -> LineDecision | tuple:
    """The line's rejection by the rules that come before any amount, or (tariff, benefit, pre-auth or None)."""
    day = claim.service_date

    def rejected(reason, code=""):
        return LineDecision(line.id, REJECTED, ZERO, ZERO, ZERO, code, (reason,))

    if line.review == REVIEW_REJECT:  # an assessor's decision stands
        return rejected(Reason.ASSESSOR_REJECTED)
    # Nonsense is refused before any arithmetic, whatever path the row came in by (the database refuses it
    # too, but a row may predate the constraints or be restored from elsewhere): a quantity of 0 or an amount
    # of -100.00 must never pay, nor free limit for the claims after it.
    if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity < 1:
        return rejected(Reason.QUANTITY_INVALID)
    if not _is_money(line.claimed):
        return rejected(Reason.AMOUNT_INVALID)
    # The same service already paid (another claim, or an earlier line of this one): billed again, at
    # whatever amount, it is not paid twice. Only a line that paid counts, so a corrected resubmission of a
    # rejected line is decided afresh.
    line_key = claim.line_key(line)
    if line_key in usage.paid_lines:
        return rejected(Reason.DUPLICATE_LINE)
    prices = ref.tariffs.get(line.tariff_code)
    if not prices:
        return rejected(Reason.TARIFF_UNKNOWN)
    tariff = next((t for t in prices if t.valid_from <= day and (t.valid_to is None or day <= t.valid_to)), None)
    if tariff is None:
        return rejected(Reason.TARIFF_NOT_VALID)
    if not _is_money(tariff.unit_price):
        return rejected(Reason.TARIFF_PRICE_INVALID)
    code = tariff.benefit_code
    benefit = benefits.get(code)
    if benefit is None:
        return rejected(Reason.BENEFIT_NOT_ON_PLAN, code)
    diagnoses = [part.strip().upper() for part in line.icd10_codes.split(",") if part.strip()]
    if not diagnoses or not all(ICD10.match(d) for d in diagnoses):
        return rejected(Reason.ICD10_INVALID, code)
    waiting = _waiting_period(ref.waiting_periods.get(member.id, ()), day, diagnoses, code)
    if waiting:
        return rejected(waiting, code)
    preauth = None
    if benefit.requires_preauth:
        problem, preauth = _preauth_for(ref.preauths.get(member.id, ()), claim, line, code, usage)
        if problem:
            return rejected(problem, code)
    return tariff, benefit, preauth


def _adjudicate_line(claim, line, member, benefits, ref, usage, event_used, paid) -> LineDecision:
    checked = _line_checked(claim, line, member, benefits, ref, usage)
    if isinstance(checked, LineDecision):
        return checked
    tariff, benefit, preauth = checked
    code = tariff.benefit_code
    flag = _review_flag(claim, line, tariff, benefit, usage)
    if flag:
        return LineDecision(line.id, PENDED, ZERO, ZERO, ZERO, code, (flag,))
    line_key = claim.line_key(line)
    reasons = []
    eligible = min(Decimal(line.claimed), (tariff.unit_price * line.quantity).quantize(CENT))  # > 0 from here
    if eligible < line.claimed:
        reasons.append(Reason.TARIFF_RATE_APPLIED)

    # Reference data is clamped, so that 0 <= copay <= eligible and 0 <= benefit <= eligible - copay: a
    # co-payment of 150 % pays nothing (not -50 %), a negative limit or cap pays nothing (and frees nothing).
    copay = (eligible * _percent(benefit.copay_percent) / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    if copay:
        reasons.append(Reason.COPAY_APPLIED)
    pay = eligible - copay
    cut = False
    if preauth is not None:  # a budget: what was paid against it before is gone, the rest is paid up to it
        remaining = max(_floor(preauth.amount) - usage.preauth_drawn[preauth.id], ZERO)
        if pay > remaining:
            pay = remaining
            reasons.append(Reason.PREAUTH_LIMIT_APPLIED)
            cut = True
    cap = _floor(benefit.per_event_cap)
    if cap is not None and event_used[code] + pay > cap:
        pay = max(cap - event_used[code], ZERO)
        reasons.append(Reason.EVENT_CAP_APPLIED)
        cut = True
    year = claim.service_date.year
    member_key, family_key = (member.id, code, year), (member.family_id, code, year)
    limit_member, limit_family = _floor(benefit.limit_member), _floor(benefit.limit_family)
    if limit_member is not None and usage.member[member_key] + pay > limit_member:
        pay = max(limit_member - usage.member[member_key], ZERO)
        reasons.append(Reason.MEMBER_LIMIT_REACHED)
        cut = True
    if limit_family is not None and usage.family[family_key] + pay > limit_family:
        pay = max(limit_family - usage.family[family_key], ZERO)
        reasons.append(Reason.FAMILY_LIMIT_REACHED)
        cut = True
    # What a cap or a limit cut is the member's to pay, like the co-payment: the copay column is the
    # member's portion, so copay + benefit = eligible on every line (issue 8).
    if pay <= 0:
        # Nothing payable is never "approved": the line is rejected with the reason that made it zero
        # (the last one: COPAY_APPLIED for a 100 % co-payment, a limit or the event cap otherwise).
        return LineDecision(line.id, REJECTED, eligible, eligible, ZERO, code, tuple(reasons))
    usage.member[member_key] += pay
    usage.family[family_key] += pay
    event_used[code] += pay
    usage.paid_lines.add(line_key)
    service_key = (claim.member_id, claim.service_date, line.tariff_code)
    added = service_key not in usage.paid_services
    usage.paid_services.add(service_key)
    preauth_id = None
    if preauth is not None:
        usage.preauth_drawn[preauth.id] += pay
        preauth_id = preauth.id
    paid.append((member_key, family_key, pay, line_key, service_key if added else None, preauth_id))
    if cut:
        return LineDecision(line.id, PARTIAL, eligible, eligible - pay, pay, code, tuple(reasons), preauth_id)
    return LineDecision(line.id, APPROVED, eligible, copay, pay, code, (*reasons, Reason.PAID), preauth_id)


def _is_money(value) -> bool:
    """A positive, finite amount in whole cents (what a DECIMAL(12, 2) column > 0 holds)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return False
    try:
        value = Decimal(value)
        return value.is_finite() and value >= CENT and value == value.quantize(CENT)
    except InvalidOperation:  # too many digits to quantize
        return False


def _percent(value) -> Decimal:
    """A co-payment % within 0..100; one that is not a number at all pays nothing (100 %)."""
    if not isinstance(value, Decimal | int) or not Decimal(value).is_finite():
        return HUNDRED
    return min(max(Decimal(value), ZERO), HUNDRED)


def _floor(limit) -> Decimal | None:
    """A limit or cap: None is unlimited; a negative or unreadable one allows nothing."""
    if limit is None:
        return None
    if not isinstance(limit, Decimal | int) or Decimal(limit).is_nan():
        return ZERO
    return max(Decimal(limit), ZERO)


def _waiting_period(periods, day, diagnoses, code) -> str:
    for period in periods:
        if not (period.start <= day <= period.end):
            continue
        if period.kind == "general":
            return Reason.WAITING_PERIOD_GENERAL
        if period.kind == "condition" and any(d.startswith(period.icd10_prefix.upper()) for d in diagnoses):
            return Reason.WAITING_PERIOD_CONDITION
        if period.kind == "category" and period.benefit_code == code:
            return Reason.WAITING_PERIOD_CATEGORY
    return ""


def _preauth_for(preauths, claim, line, code, usage) -> tuple[str, PreAuth | None]:
    """The pre-authorisation a line draws on, or why there is none (missing, or none valid that day).

    Of several valid ones, the one with most left (then the oldest, by id), so the choice is the same on
    every run and a line is paid as much as any one authorisation still allows.
    """
    matching = [
        p
        for p in preauths
        if (not p.practice_number or p.practice_number == claim.practice_number)
        and (p.tariff_code == line.tariff_code or (not p.tariff_code and p.benefit_code == code))
    ]
    if not matching:
        return Reason.PREAUTH_MISSING, None
    valid = [p for p in matching if p.valid_from <= claim.service_date <= p.valid_to]
    if not valid:
        return Reason.PREAUTH_EXPIRED, None
    return "", min(valid, key=lambda p: (-(_floor(p.amount) - usage.preauth_drawn[p.id]), p.id))
