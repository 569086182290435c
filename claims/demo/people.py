"""The demo seeder's first half: numbers, the price list, the scheme, providers and member families."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Max

from claims.demo.catalogue import (
    BATCH_SIZE,
    CONDITIONS,
    DISCIPLINE,
    FAMILY_KINDS,
    FIRST_F,
    FIRST_M,
    PLANS,
    REVIEW_THRESHOLDS,
    REVIEWED_TARIFFS,
    SPECIALTIES,
    SURNAMES,
    TARIFFS,
    TOWNS,
    UNKNOWN_TARIFFS,
    WINDOW_DAYS,
    B,
    D,
    _add_months,
    _first_of_next_month,
    _money,
    _Person,
    _years_before,
)
from claims.models import Claim, PreAuthorisation, TariffCode
from core.db import update_rows
from members.models import BenefitCategory, Member, MembershipPeriod, Plan, Scheme, WaitingPeriod
from members.services import period_today
from providers.models import Provider


class PeopleMixin:
    """Numbers, the price list, the scheme and its plans, providers and member families (of _Seeder)."""

    # --- numbers that must not collide with what the database holds --------------------------------

    def reserve_numbers(self) -> None:
        codes = Scheme.objects.filter(code__regex=r"^DEMO[0-9]+$").values_list("code", flat=True)
        self.run = max((int(code[4:]) for code in codes), default=0) + 1
        self.next_membership = _next_number(Member, "membership_number", "", 9, 100_000_001)
        self.next_claim = _next_number(Claim, "claim_number", "CLM", 10, 1)
        self.next_preauth = _next_number(PreAuthorisation, "reference", "PA", 10, 1)
        self.taken_practices = set(Provider.objects.values_list("practice_number", flat=True))

    def practice_number(self) -> str:
        while True:
            number = f"{self.rng.randrange(10_000_000):07d}"
            if number not in self.taken_practices:
                self.taken_practices.add(number)
                return number

    # --- reference data --------------------------------------------------------------------------

    def create_price_list(self) -> None:
        """Add the codes the database does not have yet (the price list is shared by all schemes)."""
        year = self.today.year
        codes = [row[0] for row in TARIFFS]
        present = set(TariffCode.objects.filter(code__in=codes).values_list("code", flat=True))
        since, year_end, year_start = date(year - 5, 1, 1), date(year - 1, 12, 31), date(year, 1, 1)
        rows = []
        for code, description, benefit, price, history in TARIFFS:
            if code in present:
                continue
            current = Decimal(price)
            if history == "repriced":  # last year's price was about 7% lower
                old = (current / Decimal("1.07")).quantize(Decimal("1"))
                rows.append(
                    TariffCode(
                        code=code,
                        description=description,
                        benefit_code=benefit,
                        unit_price=old,
                        valid_from=since,
                        valid_to=year_end,
                    )
                )
                rows.append(
                    TariffCode(
                        code=code,
                        description=description,
                        benefit_code=benefit,
                        unit_price=current,
                        valid_from=year_start,
                    )
                )
            elif history == "discontinued":
                rows.append(
                    TariffCode(
                        code=code,
                        description=f"{description} (discontinued)",
                        benefit_code=benefit,
                        unit_price=current,
                        valid_from=since,
                        valid_to=year_end,
                    )
                )
            elif history == "future":
                rows.append(
                    TariffCode(
                        code=code,
                        description=f"{description} (new)",
                        benefit_code=benefit,
                        unit_price=current,
                        valid_from=date(year + 1, 1, 1),
                    )
                )
            else:
                rows.append(
                    TariffCode(
                        code=code, description=description, benefit_code=benefit, unit_price=current, valid_from=since
                    )
                )
        for row in rows:
            row.requires_review = row.code in REVIEWED_TARIFFS
        TariffCode.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        self.counts["tariff_codes"] = len(rows)
        # What the claims are priced from: the database's versions (ours, or an earlier run's).
        self.prices: dict[str, list[tuple]] = defaultdict(list)
        for row in (
            TariffCode.objects.filter(code__in=codes)
            .order_by("code", "valid_from", "id")
            .values_list("code", "valid_from", "valid_to", "unit_price")
        ):
            self.prices[row[0]].append(row[1:])
        self.tariffs_by_benefit = defaultdict(list)
        for code, _description, benefit, _price, history in TARIFFS:
            if history in ("", "repriced"):
                self.tariffs_by_benefit[benefit].append(code)
        present_unknown = set(TariffCode.objects.filter(code__in=UNKNOWN_TARIFFS).values_list("code", flat=True))
        self.unknown_tariffs = [code for code in UNKNOWN_TARIFFS if code not in present_unknown]

    def price(self, code: str, day: date) -> Decimal | None:
        for valid_from, valid_to, unit_price in self.prices.get(code, ()):
            if valid_from <= day and (valid_to is None or day <= valid_to):
                return unit_price
        return None

    def create_scheme(self) -> None:
        year = self.today.year
        name = "Demo Medical Scheme" + (f" {self.run}" if self.run > 1 else "")
        scheme = Scheme.objects.create(code=f"DEMO{self.run}", name=name)
        self.plans: dict[str, Plan] = {}
        self.previous_plans: dict[str, Plan] = {}  # last benefit year's options: the periods before 1 January
        self.benefits: dict[str, dict[str, tuple]] = {}
        categories = []
        for plans, plan_year in ((self.plans, year), (self.previous_plans, year - 1)):
            for code, name, _weight, benefits in PLANS:
                plan = Plan.objects.create(
                    scheme=scheme,
                    code=code,
                    name=name,
                    year=plan_year,
                    effective_from=date(plan_year, 1, 1),
                    effective_to=date(plan_year, 12, 31),
                )
                plans[code] = plan
                self.benefits.setdefault(code, {})
                for benefit, (member, family, copay, cap, preauth) in benefits.items():
                    row = (_money(member), _money(family), Decimal(copay), _money(cap), preauth)
                    self.benefits[code][benefit] = row
                    categories.append(
                        BenefitCategory(
                            plan=plan,
                            code=benefit,
                            annual_limit_member=row[0],
                            annual_limit_family=row[1],
                            copay_percent=row[2],
                            per_event_cap=row[3],
                            requires_preauth=preauth,
                            review_threshold=_money(REVIEW_THRESHOLDS.get((code, benefit))),
                        )
                    )
        BenefitCategory.objects.bulk_create(categories)
        self.counts.update(
            scheme=scheme.code, plans=len(self.plans) + len(self.previous_plans), benefit_categories=len(categories)
        )

    def create_providers(self) -> None:
        rng = self.rng
        count = max(10, self.members // 20)
        disciplines = list(DISCIPLINE.values())
        weights = (35, 15, 8, 10, 8, 10, 7, 7)  # GP, specialist, hospital, pharmacy, optical, dental, lab, X-ray
        rows = []
        for i in range(count):
            discipline = disciplines[i] if i < 8 else rng.choices(disciplines, weights)[0]
            suspended = i in (8, 9) or (i > 9 and rng.random() < 0.03)
            rows.append(
                Provider(
                    practice_number=self.practice_number(),
                    name=self.provider_name(discipline),
                    discipline=discipline,
                    status=Provider.Status.SUSPENDED if suspended else Provider.Status.ACTIVE,
                )
            )
        Provider.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        self.active = defaultdict(list)
        for provider in rows:
            if provider.status == Provider.Status.ACTIVE:
                self.active[provider.discipline].append(provider)
        self.suspended = [p for p in rows if p.status == Provider.Status.SUSPENDED]
        self.unknown_practices = [self.practice_number() for _ in range(25)]  # on no provider's door
        self.counts["providers"] = len(rows)

    def provider_name(self, discipline: str) -> str:
        rng = self.rng
        surname, town = rng.choice(SURNAMES), rng.choice(TOWNS)
        initial = rng.choice("ABCDEFGHJKLMNPRSTVZ")
        return {
            D.GP: f"Dr {initial}. {surname}",
            D.SPECIALIST: f"Dr {initial}. {surname} ({rng.choice(SPECIALTIES)})",
            D.HOSPITAL: f"{town} {rng.choice(('Private Hospital', 'Medical Centre', 'Day Clinic'))}",
            D.PHARMACY: f"{town} {rng.choice(('Pharmacy', 'Chemist', 'Dispensary'))}",
            D.OPTOMETRIST: f"{surname} Optometrists",
            D.DENTIST: f"Dr {initial}. {surname} Dental Practice",
            D.PATHOLOGY: f"{town} Pathology Laboratory",
            D.RADIOLOGY: f"{town} Radiology",
        }[discipline]

    # --- members -----------------------------------------------------------------------------------

    def create_members(self) -> None:
        rng = self.rng
        plan_codes = [p[0] for p in PLANS]
        plan_weights = [p[2] for p in PLANS]
        sizes = []
        total = 0
        while total < self.members:
            size = min(1 + rng.choices((0, 1, 2, 3, 4), (30, 25, 22, 14, 9))[0], self.members - total)
            sizes.append((size, rng.choices(plan_codes, plan_weights)[0]))
            total += size
        kinds = self.family_kinds(sizes)

        self.families: list[list[_Person]] = []
        principals, dependants = [], []
        for index, (size, plan_code) in enumerate(sizes):
            kind = kinds.get(index, "regular")
            family = self.build_family(index, size, plan_code, kind)
            self.families.append(family)
            principals.append(family[0].member)
            dependants.extend(person.member for person in family[1:])
        Member.objects.bulk_create(principals, batch_size=BATCH_SIZE)
        for family in self.families:
            for person in family[1:]:
                person.member.principal = family[0].member
        Member.objects.bulk_create(dependants, batch_size=BATCH_SIZE)
        waits = [
            WaitingPeriod(member=person.member, kind=k, icd10_prefix=prefix, benefit_code=benefit, start=start, end=end)
            for family in self.families
            for person in family
            for k, prefix, benefit, start, end in person.waits
        ]
        WaitingPeriod.objects.bulk_create(waits, batch_size=BATCH_SIZE)
        self.kinds = kinds
        self.create_periods()
        self.counts.update(
            members=len(principals) + len(dependants),
            principals=len(principals),
            dependants=len(dependants),
            waiting_periods=len(waits),
        )

    def create_periods(self) -> None:
        """Each member's membership periods (issue 13): today's state, and for some families history.

        A fifth of the regular families changed plan at the last benefit-year boundary (most stayed on their
        option, whose plan row is per year; some switched option), one in sixteen was suspended for arrears
        and reinstated. That history ends well before the demo claims' service dates (received over the
        last WINDOW_DAYS days, up to about 210 days after service for the late ones), so the claims' outcomes
        are what each scenario was built for; the engine still has to find the period in force among several.
        """
        rng, today = self.rng, self.today
        boundary = date(today.year, 1, 1)
        history_ends = today - timedelta(days=WINDOW_DAYS + 240)
        codes = [p[0] for p in PLANS]
        rows, reinstated = [], []
        for index, family in enumerate(self.families):
            kind = self.kinds.get(index, "regular")
            head = family[0].member
            plan_code = family[0].plan
            switch = kind == "regular" and head.cover_start < boundary - timedelta(days=60) and rng.random() < 0.2
            previous = rng.choice(codes) if switch and rng.random() < 0.35 else plan_code
            suspension = None
            earliest = head.cover_start + timedelta(days=31)
            if kind == "regular" and rng.random() < 0.0625 and earliest + timedelta(days=120) < history_ends:
                start = earliest + timedelta(days=rng.randint(0, (history_ends - earliest).days - 120))
                suspension = (start, start + timedelta(days=rng.randint(30, 90)))
            for person in family:
                periods = self.periods_of(person.member, plan_code, previous if switch else None, suspension)
                rows.extend(periods)
                since = period_today(periods, today)[1]
                if since != person.member.status_since:  # reinstated: today's status took effect then
                    person.member.status_since = since
                    reinstated.append((since, person.member.pk))
        MembershipPeriod.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        update_rows(Member, ("status_since",), reinstated)
        members = Counter(row.member_id for row in rows)
        self.counts.update(
            membership_periods=len(rows),
            members_with_history=sum(1 for n in members.values() if n > 1),
        )

    def periods_of(self, member: Member, plan_code: str, previous: str | None, suspension) -> list[MembershipPeriod]:
        """Cut the member's cover where something changed, then merge neighbours that are alike."""
        start, boundary = member.cover_start, date(self.today.year, 1, 1)
        cuts = {start}
        if member.status != Member.Status.ACTIVE and member.status_since > start:
            cuts.add(member.status_since)
        if suspension:
            cuts |= {suspension[0], suspension[1] + timedelta(days=1)}
        if previous is not None:
            cuts.add(boundary)
        cuts = sorted(day for day in cuts if day >= start)
        periods: list[list] = []
        for day, following in zip(cuts, [*cuts[1:], None], strict=True):
            status = Member.Status.ACTIVE
            if member.status != Member.Status.ACTIVE and day >= member.status_since:
                status = member.status
            elif suspension and suspension[0] <= day <= suspension[1]:
                status = Member.Status.SUSPENDED
            plan = self.previous_plans[previous] if previous is not None and day < boundary else self.plans[plan_code]
            end = following - timedelta(days=1) if following else None
            if periods and periods[-1][2:] == [status, plan]:
                periods[-1][1] = end
            else:
                periods.append([day, end, status, plan])
        return [MembershipPeriod(member=member, valid_from=f, valid_to=t, status=s, plan=p) for f, t, s, p in periods]

    def family_kinds(self, sizes) -> dict[int, str]:
        rng = self.rng
        count = len(sizes)
        free = list(range(count))
        kinds = {}
        for kind, share, minimum in FAMILY_KINDS:
            wanted = round(share * count)
            if count >= 30:
                wanted = max(minimum, wanted)
            if kind == "category_wait":
                pool = [i for i in free if sizes[i][1] != "ESSENTIAL"]
            elif kind == "aged_out":
                pool = [i for i in free if sizes[i][0] >= 2]
            else:
                pool = free
            for i in rng.sample(pool, min(wanted, len(pool))):
                kinds[i] = kind
            free = [i for i in free if i not in kinds]
        return kinds

    def build_family(self, index: int, size: int, plan_code: str, kind: str) -> list[_Person]:
        rng, today = self.rng, self.today
        if kind == "future_cover":
            join = today - timedelta(days=rng.randint(2, 20))
        elif kind == "new_joiner":
            join = today - timedelta(days=rng.randint(40, 85))
        elif kind in ("condition_wait", "category_wait"):  # the general waiting period is over
            join = today - timedelta(days=rng.randint(160, 300))
        elif kind in ("terminated", "aged_out"):
            join = today - timedelta(days=rng.randint(400, 6 * 365))
        else:
            join = today - timedelta(days=rng.randint(200, 6 * 365))
        cover_start = join if join.day == 1 else _first_of_next_month(join)
        status, status_since, cover_end = Member.Status.ACTIVE, cover_start, None
        if kind == "suspended":  # arrears
            status, status_since = Member.Status.SUSPENDED, today - timedelta(days=rng.randint(35, 90))
        elif kind == "terminated":  # resigned at the end of a month
            cover_end = (today - timedelta(days=rng.randint(35, 150))).replace(day=1) - timedelta(days=1)
            status, status_since = Member.Status.TERMINATED, cover_end + timedelta(days=1)

        number = self.next_membership
        self.next_membership += 1
        surname = rng.choice(SURNAMES)
        gender = rng.choice((Member.Gender.FEMALE, Member.Gender.MALE))
        principal_dob = _years_before(today, rng.randint(22, 75), rng.randint(0, 364))
        family = []
        for position in range(size):
            if position == 0:
                relationship, dob, sex = Member.Relationship.PRINCIPAL, principal_dob, gender
            elif position == 1 and rng.random() < 0.6:
                relationship = Member.Relationship.SPOUSE
                dob = min(principal_dob + timedelta(days=rng.randint(-5 * 365, 5 * 365)), _years_before(today, 18))
                sex = Member.Gender.MALE if gender == Member.Gender.FEMALE else Member.Gender.FEMALE
            else:
                relationship = Member.Relationship.CHILD
                age_limit = max(0, min(21, (today - principal_dob).days // 365 - 18))
                dob = _years_before(today, rng.randint(0, age_limit), rng.randint(0, 364))
                sex = rng.choice((Member.Gender.FEMALE, Member.Gender.MALE))
            starts = max(cover_start, dob)
            ends = cover_end
            if kind == "aged_out" and position == size - 1:  # turned 26 and was not moved off the policy
                relationship = Member.Relationship.CHILD
                ends = today - timedelta(days=rng.randint(35, 200))
                dob = _years_before(ends + timedelta(days=1), 26)
                starts = max(cover_start, dob)
            first = rng.choice(FIRST_F if sex == Member.Gender.FEMALE else FIRST_M)
            member = Member(
                membership_number=f"{number:09d}",
                dependant_code=f"{position:02d}",
                relationship=relationship,
                plan=self.plans[plan_code],
                first_name=first,
                last_name=surname,
                date_of_birth=dob,
                gender=sex,
                email=f"member{number}@example.com" if position == 0 else "",
                status=status,
                status_since=max(status_since, starts) if status == Member.Status.ACTIVE else status_since,
                join_date=max(join, dob),
                cover_start=starts,
                cover_end=ends,
            )
            family.append(_Person(member, index, plan_code))

        for person in family:
            start = person.member.cover_start
            if start > today - timedelta(days=365) or kind in ("future_cover", "new_joiner"):
                person.waits.append(("general", "", "", start, _add_months(start, 3) - timedelta(days=1)))
        if kind == "condition_wait":
            person = rng.choice(family)
            start = person.member.cover_start
            prefix = rng.choice(sorted(CONDITIONS))
            person.waits.append(("condition", prefix, "", start, _add_months(start, 12) - timedelta(days=1)))
        elif kind == "category_wait":
            benefit = rng.choice((B.OPTICAL, B.DENTISTRY))
            for person in family:
                start = person.member.cover_start
                person.waits.append(("category", "", benefit, start, _add_months(start, 12) - timedelta(days=1)))
        return family

    # --- claims ------------------------------------------------------------------------------------


def _next_number(model, field_name: str, prefix: str, width: int, start: int) -> int:
    """One past the highest `prefix` + `width` digits number in the table (fixed width sorts as text)."""
    pattern = f"^{re.escape(prefix)}[0-9]{{{width}}}$"
    top = model.objects.filter(**{f"{field_name}__regex": pattern}).aggregate(top=Max(field_name))["top"]
    return max(start, int(top[len(prefix) :]) + 1) if top else start
