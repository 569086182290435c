"""factory-boy factories for the claims domain.

The defaults make a claim the rules approve in full: an active member covered since two years ago on
a plan that covers every benefit without limits, co-payment or pre-authorisation, an active GP, the
GP consultation tariff "0190" valid since 2000, received today for a service yesterday, one line
claimed at the tariff. Tests change only what they are about, e.g.

    plan = PlanFactory(benefits={"GP": {"annual_limit_member": Decimal("500")}})
    claim = ClaimFactory(member__plan=plan, lines=[{"quantity": 2}, {"tariff_code": "9999"}])
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.db.models import Q
from django.utils import timezone

from claims.models import Claim, ClaimLine, PreAuthorisation, TariffCode
from members.models import BenefitCategory, BenefitCode, Member, Plan, Scheme, WaitingPeriod
from providers.models import Provider

LONG_AGO = date(2000, 1, 1)
GP_CONSULTATION = "0190"


def _today() -> date:
    return timezone.localdate()


def _two_years_ago() -> date:
    today = _today()
    return today.replace(year=today.year - 2, day=28 if (today.month, today.day) == (2, 29) else today.day)


class SchemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scheme
        django_get_or_create = ("code",)

    code = "TEST"
    name = "Test Medical Scheme"


class BenefitCategoryFactory(factory.django.DjangoModelFactory):
    """One benefit; unlimited, no co-payment, no cap, no pre-authorisation unless given."""

    class Meta:
        model = BenefitCategory

    plan = factory.SubFactory("claims.tests.factories.PlanFactory", benefits=[])
    code = BenefitCode.GP
    annual_limit_member = None
    annual_limit_family = None
    copay_percent = Decimal("0")
    per_event_cap = None
    requires_preauth = False


class PlanFactory(factory.django.DjangoModelFactory):
    """A plan for this year. `benefits`: None = every benefit with the defaults above; a list of codes;
    a dict {code: {field: value}} for limits and the like; [] = none (add BenefitCategoryFactory rows)."""

    class Meta:
        model = Plan
        skip_postgeneration_save = True

    scheme = factory.SubFactory(SchemeFactory)
    code = factory.Sequence(lambda n: f"PLAN{n}")
    name = factory.LazyAttribute(lambda o: f"Plan {o.code}")
    year = factory.LazyFunction(lambda: _today().year)
    effective_from = factory.LazyAttribute(lambda o: date(o.year, 1, 1))
    effective_to = factory.LazyAttribute(lambda o: date(o.year, 12, 31))

    @factory.post_generation
    def benefits(plan, create, extracted, **kwargs):
        if not create:
            return
        if extracted is None:
            extracted = list(BenefitCode.values)
        overrides = extracted if isinstance(extracted, dict) else {code: {} for code in extracted}
        for code, fields in overrides.items():
            BenefitCategoryFactory(plan=plan, code=code, **fields)


class MemberFactory(factory.django.DjangoModelFactory):
    """A principal member (dependant code 00), active and covered since two years ago."""

    class Meta:
        model = Member

    membership_number = factory.Sequence(lambda n: f"{700_000_000 + n}")
    dependant_code = "00"
    principal = None
    relationship = Member.Relationship.PRINCIPAL
    plan = factory.SubFactory(PlanFactory)
    first_name = factory.Sequence(lambda n: ("Thandiwe", "Sipho", "Ayesha", "Johan", "Lerato")[n % 5])
    last_name = "Dlamini"
    date_of_birth = date(1985, 6, 15)
    gender = Member.Gender.FEMALE
    email = factory.LazyAttribute(lambda o: f"member{o.membership_number}@example.com")
    status = Member.Status.ACTIVE
    cover_start = factory.LazyFunction(_two_years_ago)
    join_date = factory.LazyAttribute(lambda o: o.cover_start)
    status_since = factory.LazyAttribute(lambda o: o.cover_start)
    cover_end = None


class DependantFactory(MemberFactory):
    """A child on a principal's membership: DependantFactory(principal=member); codes 01, 02, ... in turn."""

    principal = factory.SubFactory(MemberFactory)
    membership_number = factory.LazyAttribute(lambda o: o.principal.membership_number)
    dependant_code = factory.LazyAttribute(
        lambda o: f"{o.principal.dependants.count() + 1 if o.principal.pk else 1:02d}"
    )
    relationship = Member.Relationship.CHILD
    plan = factory.LazyAttribute(lambda o: o.principal.plan)
    date_of_birth = date(2015, 3, 1)
    email = ""
    cover_start = factory.LazyAttribute(lambda o: o.principal.cover_start)


class WaitingPeriodFactory(factory.django.DjangoModelFactory):
    """A general waiting period the member is in today (started 30 days ago, 90 days long)."""

    class Meta:
        model = WaitingPeriod

    member = factory.SubFactory(MemberFactory)
    kind = WaitingPeriod.Kind.GENERAL
    icd10_prefix = ""
    benefit_code = ""
    start = factory.LazyFunction(lambda: _today() - timedelta(days=30))
    end = factory.LazyAttribute(lambda o: o.start + timedelta(days=89))


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    practice_number = factory.Sequence(lambda n: f"{1_000_000 + n:07d}")
    name = factory.Sequence(lambda n: f"Dr T. Provider {n}")
    discipline = Provider.Discipline.GP
    status = Provider.Status.ACTIVE


class TariffCodeFactory(factory.django.DjangoModelFactory):
    """The GP consultation, R400.00, valid since 2000 with no end."""

    class Meta:
        model = TariffCode

    code = GP_CONSULTATION
    description = "GP consultation"
    benefit_code = BenefitCode.GP
    unit_price = Decimal("400.00")
    valid_from = LONG_AGO
    valid_to = None


class PreAuthorisationFactory(factory.django.DjangoModelFactory):
    """R50,000 of hospital benefit, any provider, valid from 30 days ago to 60 days ahead."""

    class Meta:
        model = PreAuthorisation

    reference = factory.Sequence(lambda n: f"PA-T{n:06d}")
    member = factory.SubFactory(MemberFactory)
    practice_number = ""
    tariff_code = ""
    benefit_code = BenefitCode.HOSPITAL
    authorised_amount = Decimal("50000.00")
    valid_from = factory.LazyFunction(lambda: _today() - timedelta(days=30))
    valid_to = factory.LazyFunction(lambda: _today() + timedelta(days=60))


def default_tariff_code() -> str:
    """The GP consultation, created on first use (a test that made its own "0190" keeps it)."""
    if not TariffCode.objects.filter(code=GP_CONSULTATION).exists():
        TariffCodeFactory()
    return GP_CONSULTATION


def tariff_price(code: str, day: date) -> Decimal:
    """The code's unit price on the day; R100.00 for a code with no price that day (unknown or expired)."""
    price = (
        TariffCode.objects.filter(code=code, valid_from__lte=day)
        .filter(Q(valid_to=None) | Q(valid_to__gte=day))
        .order_by("-valid_from")
        .values_list("unit_price", flat=True)
        .first()
    )
    return price if price is not None else Decimal("100.00")


class ClaimFactory(factory.django.DjangoModelFactory):
    """A pending claim received now for a service yesterday. `lines`: None = one default line; a list of
    dicts of ClaimLineFactory fields, numbered 1, 2, ...; [] = no lines. total_claimed follows the lines."""

    class Meta:
        model = Claim
        skip_postgeneration_save = True

    claim_number = factory.Sequence(lambda n: f"CLM-T{n:07d}")
    member = factory.SubFactory(MemberFactory)
    practice_number = factory.LazyFunction(lambda: ProviderFactory().practice_number)
    received_at = factory.LazyFunction(timezone.now)
    service_date = factory.LazyAttribute(lambda o: timezone.localdate(o.received_at) - timedelta(days=1))
    status = Claim.Status.PENDING

    @factory.post_generation
    def lines(claim, create, extracted, **kwargs):
        if not create:
            return
        for number, fields in enumerate([{}] if extracted is None else extracted, start=1):
            ClaimLineFactory(claim=claim, line_number=number, **fields)
        claim.total_claimed = sum((line.claimed_amount for line in claim.lines.all()), Decimal("0.00"))
        claim.save(update_fields=["total_claimed"])


class ClaimLineFactory(factory.django.DjangoModelFactory):
    """One GP consultation for an upper respiratory infection, claimed at the tariff on the service date."""

    class Meta:
        model = ClaimLine

    claim = factory.SubFactory(ClaimFactory, lines=[])
    line_number = factory.LazyAttribute(lambda o: o.claim.lines.count() + 1)
    tariff_code = factory.LazyFunction(default_tariff_code)
    icd10_codes = "J06.9"
    quantity = 1
    claimed_amount = factory.LazyAttribute(lambda o: tariff_price(o.tariff_code, o.claim.service_date) * o.quantity)
