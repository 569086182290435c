"""Demo data: a realistic scheme whose pending claims reach every adjudication reason (`seed_demo_data`).

Everything is drawn from one `random.Random(seed)` and dated relative to `today`, so the same seed,
starting database and day give the same rows. Numbers (membership, claim, pre-authorisation, scheme
code, practice) continue after what the database already holds, so a second run adds a second set.
Rows are built in memory and written with `bulk_create`: 20,000 members and 100,000 claims take seconds.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from claims.models import Claim, ClaimLine, PreAuthorisation, TariffCode
from core import cache as reference_cache
from members.models import BenefitCategory, BenefitCode, Member, Plan, Scheme, WaitingPeriod
from providers.models import Provider

logger = logging.getLogger(__name__)

B = BenefitCode
D = Provider.Discipline
CENT = Decimal("0.01")
BATCH_SIZE = 2000
WINDOW_DAYS = 30  # claims are received over the last 30 days

# --- The scheme's options: (limit per member, per family, co-payment %, per-event cap, pre-auth) ---
# Amounts in ZAR; None = unlimited. Essential has no optical or dental benefit (BENEFIT_NOT_ON_PLAN).
PLANS = (
    ("ESSENTIAL", "Essential", 35, {
        B.GP: ("3500", "7000", "10", None, False),
        B.SPECIALIST: ("4000", "8000", "20", "2000", False),
        B.HOSPITAL: (None, "150000", "25", "20000", True),
        B.CHRONIC: ("6000", "12000", "20", None, False),
        B.PATHOLOGY: ("2500", "5000", "10", None, False),
        B.RADIOLOGY: ("3000", "6000", "20", "2500", True),
    }),
    ("CLASSIC", "Classic", 45, {
        B.GP: ("6000", "15000", "0", None, False),
        B.SPECIALIST: ("10000", "20000", "10", "5000", False),
        B.HOSPITAL: ("500000", "1000000", "10", "60000", True),
        B.CHRONIC: ("15000", "30000", "10", None, False),
        B.OPTICAL: ("2500", "6000", "0", "2500", False),
        B.DENTISTRY: ("4000", "10000", "10", None, False),
        B.PATHOLOGY: ("5000", "12000", "0", None, False),
        B.RADIOLOGY: ("8000", "16000", "10", "6000", True),
    }),
    ("COMPREHENSIVE", "Comprehensive", 20, {
        B.GP: (None, None, "0", None, False),
        B.SPECIALIST: ("30000", "60000", "0", None, False),
        B.HOSPITAL: (None, None, "0", None, True),
        B.CHRONIC: ("40000", "80000", "0", None, False),
        B.OPTICAL: ("4500", "12000", "0", None, False),
        B.DENTISTRY: ("10000", "25000", "0", None, False),
        B.PATHOLOGY: (None, None, "0", None, False),
        B.RADIOLOGY: ("25000", "50000", "0", "15000", True),
    }),
)  # fmt: skip

# --- The price list: (code, description, benefit, current unit price, history) ---
# history: "" = one version since long ago; "repriced" = last year's price until 31 Dec, this year's
# from 1 Jan; "discontinued" = valid until last 31 Dec only; "future" = valid from next 1 Jan only.
TARIFFS = (
    ("0190", "GP consultation, level 1", B.GP, "410.00", "repriced"),
    ("0191", "GP consultation, level 2", B.GP, "560.00", "repriced"),
    ("0192", "GP consultation, level 3", B.GP, "720.00", ""),
    ("0201", "Intramuscular or intravenous injection", B.GP, "180.00", ""),
    ("0308", "Urine dipstick test", B.GP, "95.00", ""),
    ("1186", "Electrocardiogram (ECG), GP", B.GP, "420.00", ""),
    ("0130", "GP telephone consultation", B.GP, "250.00", "discontinued"),
    ("0199", "GP virtual consultation", B.GP, "380.00", "future"),
    ("0141", "Specialist consultation, new patient", B.SPECIALIST, "1150.00", "repriced"),
    ("0142", "Specialist follow-up consultation", B.SPECIALIST, "780.00", ""),
    ("0173", "Specialist extended consultation", B.SPECIALIST, "1600.00", ""),
    ("3011", "Joint injection under guidance", B.SPECIALIST, "1350.00", ""),
    ("1210", "Spirometry", B.SPECIALIST, "650.00", ""),
    ("58001", "General ward, per day", B.HOSPITAL, "4200.00", "repriced"),
    ("58003", "High care, per day", B.HOSPITAL, "9800.00", ""),
    ("58005", "Intensive care, per day", B.HOSPITAL, "18500.00", ""),
    ("58101", "Theatre fee, per 15 minutes", B.HOSPITAL, "1650.00", ""),
    ("58201", "Emergency unit facility fee", B.HOSPITAL, "1950.00", ""),
    ("703811001", "Metformin 850 mg, 56 tablets", B.CHRONIC, "95.00", ""),
    ("705442001", "Amlodipine 10 mg, 30 tablets", B.CHRONIC, "120.00", ""),
    ("716290001", "Atorvastatin 20 mg, 30 tablets", B.CHRONIC, "180.00", ""),
    ("700520001", "Insulin glargine, 5 pens", B.CHRONIC, "980.00", ""),
    ("708118001", "Salbutamol inhaler 200 doses", B.CHRONIC, "85.00", ""),
    ("712345001", "Levothyroxine 100 mcg, 30 tablets", B.CHRONIC, "70.00", ""),
    ("11001", "Comprehensive eye examination", B.OPTICAL, "650.00", ""),
    ("13021", "Single vision lenses, pair", B.OPTICAL, "900.00", ""),
    ("13041", "Bifocal lenses, pair", B.OPTICAL, "1800.00", ""),
    ("14001", "Spectacle frame", B.OPTICAL, "1200.00", ""),
    ("15011", "Contact lenses, 6 months", B.OPTICAL, "1500.00", ""),
    ("8101", "Oral examination", B.DENTISTRY, "380.00", "repriced"),
    ("8109", "Intra-oral radiograph", B.DENTISTRY, "190.00", ""),
    ("8159", "Scaling and polishing", B.DENTISTRY, "450.00", ""),
    ("8341", "Amalgam restoration, one surface", B.DENTISTRY, "520.00", ""),
    ("8201", "Extraction, first tooth", B.DENTISTRY, "480.00", ""),
    ("3755", "Full blood count", B.PATHOLOGY, "210.00", "repriced"),
    ("4032", "HbA1c", B.PATHOLOGY, "280.00", ""),
    ("4171", "Lipogram", B.PATHOLOGY, "330.00", ""),
    ("3947", "Urea and electrolytes", B.PATHOLOGY, "260.00", ""),
    ("4507", "TSH", B.PATHOLOGY, "300.00", ""),
    ("3887", "C-reactive protein", B.PATHOLOGY, "190.00", ""),
    ("30100", "Chest X-ray, two views", B.RADIOLOGY, "620.00", "repriced"),
    ("32000", "Knee X-ray", B.RADIOLOGY, "540.00", ""),
    ("39175", "Ultrasound, abdomen", B.RADIOLOGY, "1650.00", ""),
    ("41010", "CT brain", B.RADIOLOGY, "5800.00", ""),
    ("43000", "MRI lumbar spine", B.RADIOLOGY, "9500.00", ""),
)
# Codes that are on no price list (TARIFF_UNKNOWN): typos and made-up codes.
UNKNOWN_TARIFFS = ("0000", "9999", "01900", "019O", "X123", "5800", "0189")
# Diagnoses that are not well-formed ICD-10 (ICD10_INVALID).
BAD_ICD10 = ("XYZ", "", "J06-9", "123.4", "J6.9", "E11.9,ZZ", "  ")

DISCIPLINE = {
    B.GP: D.GP, B.SPECIALIST: D.SPECIALIST, B.HOSPITAL: D.HOSPITAL, B.CHRONIC: D.PHARMACY,
    B.OPTICAL: D.OPTOMETRIST, B.DENTISTRY: D.DENTIST, B.PATHOLOGY: D.PATHOLOGY, B.RADIOLOGY: D.RADIOLOGY,
}  # fmt: skip
ICD10_POOL = {
    B.GP: ("J06.9", "J02.9", "J20.9", "A09", "N39.0", "R51", "Z00.0", "B34.9", "H66.9", "L30.9", "M54.5"),
    B.SPECIALIST: ("I10", "I25.1", "M17.1", "K21.0", "N40", "G43.9", "E11.9", "H25.9", "M54.5"),
    B.HOSPITAL: ("K35.8", "S82.2", "O82.0", "I21.9", "J18.9", "K80.2", "S72.0"),
    B.CHRONIC: ("E11.9", "I10", "E78.0", "J45.9", "E03.9"),
    B.OPTICAL: ("H52.1", "H52.4", "H52.0", "H52.2"),
    B.DENTISTRY: ("K02.1", "K05.1", "K04.0", "K08.1", "Z01.2"),
    B.PATHOLOGY: ("E11.9", "Z00.0", "R73.0", "E78.0", "D64.9", "N18.3"),
    B.RADIOLOGY: ("M54.5", "J18.9", "R10.4", "S52.5", "M17.1", "G44.2"),
}
CHRONIC_MEDICINE = {  # diagnosis -> what is dispensed for it
    "E11.9": ("703811001", "700520001"), "I10": ("705442001",), "E78.0": ("716290001",),
    "J45.9": ("708118001",), "E03.9": ("712345001",),
}  # fmt: skip
# Condition-specific waiting periods: ICD-10 prefix -> (benefit, diagnosis, tariff) of a claim that meets it.
CONDITIONS = {
    "E11": (B.CHRONIC, "E11.9", "703811001"),
    "I10": (B.CHRONIC, "I10", "705442001"),
    "J45": (B.CHRONIC, "J45.9", "708118001"),
    "M17": (B.SPECIALIST, "M17.1", "0141"),
}
# Big but realistic claims for the families that use up their limits: (tariff, min qty, max qty).
HEAVY_LINES = {
    B.GP: (("0192", 1, 1), ("1186", 1, 1), ("0201", 1, 1)),
    B.CHRONIC: (("700520001", 2, 3), ("716290001", 2, 3), ("703811001", 2, 3)),
    B.PATHOLOGY: (("4032", 1, 1), ("4171", 1, 1), ("4507", 1, 1), ("3755", 1, 1)),
    B.DENTISTRY: (("8101", 1, 1), ("8341", 2, 3), ("8201", 1, 2), ("8109", 1, 2)),
    B.OPTICAL: (("11001", 1, 1), ("13041", 1, 1), ("14001", 1, 1), ("15011", 1, 1)),
    B.SPECIALIST: (("0173", 1, 1), ("3011", 1, 1), ("1210", 1, 1)),
}
CATEGORY_WEIGHTS = {
    B.GP: 38, B.PATHOLOGY: 14, B.CHRONIC: 14, B.SPECIALIST: 12,
    B.DENTISTRY: 8, B.OPTICAL: 4, B.RADIOLOGY: 5, B.HOSPITAL: 5,
}  # fmt: skip
CATEGORIES, CATEGORY_CUMULATIVE = list(CATEGORY_WEIGHTS), list(itertools.accumulate(CATEGORY_WEIGHTS.values()))
LAG_WEIGHTS = (10, 20, 18, 14, 10, 8, 6, 5, 3, 2, 1, 1, 1, 1)  # days between service and receipt
LAGS, LAG_CUMULATIVE = range(len(LAG_WEIGHTS)), list(itertools.accumulate(LAG_WEIGHTS))

# Claims with a deliberate problem: (name, share of all claims, minimum when there is room).
SCENARIOS = (
    ("provider_unknown", 0.005, 2),
    ("provider_suspended", 0.005, 2),
    ("member_not_active", 0.008, 3),
    ("no_cover", 0.006, 3),
    ("service_in_future", 0.003, 2),
    ("window_expired", 0.004, 2),
    ("duplicate", 0.01, 3),
    ("no_lines", 0.002, 1),
    ("tariff_unknown", 0.005, 2),
    ("tariff_not_valid", 0.005, 2),
    ("benefit_not_on_plan", 0.005, 2),
    ("icd10_invalid", 0.01, 3),
    ("waiting_general", 0.005, 2),
    ("waiting_condition", 0.005, 2),
    ("waiting_category", 0.005, 2),
    ("preauth_missing", 0.005, 2),
    ("preauth_expired", 0.005, 2),
    ("preauth_exceeded", 0.005, 2),
    ("heavy", 0.03, 40),  # families that use up member and family limits: a budget of claims
)
# Families with a special history: (kind, share of families, minimum when there are 30 or more).
FAMILY_KINDS = (
    ("suspended", 0.02, 1),
    ("terminated", 0.02, 1),
    ("future_cover", 0.01, 1),  # joined days ago, cover starts on the 1st of next month
    ("new_joiner", 0.03, 1),  # in the 3-month general waiting period
    ("condition_wait", 0.04, 2),  # one member has a 12-month waiting period for a diagnosis
    ("category_wait", 0.03, 1),  # optical or dental waiting period (plans that have the benefit)
    ("aged_out", 0.01, 1),  # an adult child whose cover ended; status still active
)

FIRST_F = (
    "Thandiwe", "Nomvula", "Ayesha", "Lerato", "Zanele", "Priya", "Anele", "Karabo", "Naledi", "Fatima",
    "Sarah", "Michelle", "Busisiwe", "Lindiwe", "Refilwe", "Nadia", "Chantelle", "Palesa", "Kgomotso", "Annelie",
)  # fmt: skip
FIRST_M = (
    "Sipho", "Thabo", "Johan", "Mohammed", "Sibusiso", "Pieter", "Themba", "Bongani", "Rajesh", "Kagiso",
    "Lwazi", "Andile", "Tshepo", "Riaan", "Mandla", "Yusuf", "Ethan", "Lungile", "Vusi", "Pravin",
)  # fmt: skip
SURNAMES = (
    "Nkosi", "Dlamini", "van der Merwe", "Naidoo", "Botha", "Mokoena", "Khumalo", "Pillay", "Ndlovu", "Smith",
    "Mahlangu", "Jacobs", "Venter", "Mthembu", "Pretorius", "Govender", "Sithole", "Coetzee", "Molefe", "Adams",
    "Zulu", "Ngcobo", "du Plessis", "Maharaj", "Mabaso", "Williams", "Nel", "Baloyi", "Hendricks", "Shabalala",
)  # fmt: skip
TOWNS = (
    "Sandton", "Rosebank", "Durbanville", "Umhlanga", "Centurion", "Bellville", "Rondebosch", "Pinetown",
    "Midrand", "Soweto", "Polokwane", "Mbombela", "Bloemfontein", "Gqeberha", "East London", "Stellenbosch",
    "Pietermaritzburg", "Kimberley", "Rustenburg", "George",
)  # fmt: skip
SPECIALTIES = ("Physician", "Orthopaedic Surgeon", "Paediatrician", "Gynaecologist", "Cardiologist", "Dermatologist")


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _years_before(day: date, years: int, extra_days: int = 0) -> date:
    try:
        birthday = day.replace(year=day.year - years)
    except ValueError:  # 29 February
        birthday = day.replace(year=day.year - years, day=28)
    return birthday - timedelta(days=extra_days)


@dataclass(slots=True)
class _Person:
    member: Member
    family: int
    plan: str
    waits: list = field(default_factory=list)  # (kind, icd10 prefix, benefit, start, end)


@dataclass(slots=True)
class _Draft:
    person: _Person
    practice_number: str
    service_date: date
    received_at: datetime
    lines: list  # (tariff code, icd10 codes, quantity, claimed amount)


@dataclass
class _Seeder:
    rng: random.Random
    today: date
    members: int
    claims: int
    preauths: list = field(default_factory=list)
    reserved: set = field(default_factory=set)  # ids of people a scenario uses (see normal())
    counts: dict = field(default_factory=dict)

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
                rows.append(TariffCode(code=code, description=description, benefit_code=benefit,
                                       unit_price=old, valid_from=since, valid_to=year_end))  # fmt: skip
                rows.append(TariffCode(code=code, description=description, benefit_code=benefit,
                                       unit_price=current, valid_from=year_start))  # fmt: skip
            elif history == "discontinued":
                rows.append(TariffCode(code=code, description=f"{description} (discontinued)", benefit_code=benefit,
                                       unit_price=current, valid_from=since, valid_to=year_end))  # fmt: skip
            elif history == "future":
                rows.append(TariffCode(code=code, description=f"{description} (new)", benefit_code=benefit,
                                       unit_price=current, valid_from=date(year + 1, 1, 1)))  # fmt: skip
            else:
                rows.append(TariffCode(code=code, description=description, benefit_code=benefit,
                                       unit_price=current, valid_from=since))  # fmt: skip
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
        self.benefits: dict[str, dict[str, tuple]] = {}
        categories = []
        for code, name, _weight, benefits in PLANS:
            plan = Plan.objects.create(
                scheme=scheme, code=code, name=name, year=year,
                effective_from=date(year, 1, 1), effective_to=date(year, 12, 31),
            )  # fmt: skip
            self.plans[code] = plan
            self.benefits[code] = {}
            for benefit, (member, family, copay, cap, preauth) in benefits.items():
                row = (_money(member), _money(family), Decimal(copay), _money(cap), preauth)
                self.benefits[code][benefit] = row
                categories.append(BenefitCategory(
                    plan=plan, code=benefit, annual_limit_member=row[0], annual_limit_family=row[1],
                    copay_percent=row[2], per_event_cap=row[3], requires_preauth=preauth,
                ))  # fmt: skip
        BenefitCategory.objects.bulk_create(categories)
        self.counts.update(scheme=scheme.code, plans=len(self.plans), benefit_categories=len(categories))

    def create_providers(self) -> None:
        rng = self.rng
        count = max(10, self.members // 20)
        disciplines = list(DISCIPLINE.values())
        weights = (35, 15, 8, 10, 8, 10, 7, 7)  # GP, specialist, hospital, pharmacy, optical, dental, lab, X-ray
        rows = []
        for i in range(count):
            discipline = disciplines[i] if i < 8 else rng.choices(disciplines, weights)[0]
            suspended = i in (8, 9) or (i > 9 and rng.random() < 0.03)
            rows.append(Provider(
                practice_number=self.practice_number(), name=self.provider_name(discipline), discipline=discipline,
                status=Provider.Status.SUSPENDED if suspended else Provider.Status.ACTIVE,
            ))  # fmt: skip
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
        self.counts.update(
            members=len(principals) + len(dependants), principals=len(principals), dependants=len(dependants),
            waiting_periods=len(waits),
        )  # fmt: skip

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
                membership_number=f"{number:09d}", dependant_code=f"{position:02d}", relationship=relationship,
                plan=self.plans[plan_code], first_name=first, last_name=surname, date_of_birth=dob, gender=sex,
                email=f"member{number}@example.com" if position == 0 else "", status=status,
                status_since=max(status_since, starts) if status == Member.Status.ACTIVE else status_since,
                join_date=max(join, dob), cover_start=starts, cover_end=ends,
            )  # fmt: skip
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

    def when(self, lo: date | None = None, hi: date | None = None, lag: int | None = None):
        """A service date within [lo, hi] and a receipt on or after it, in the last WINDOW_DAYS days."""
        rng, today = self.rng, self.today
        first, last = today - timedelta(days=WINDOW_DAYS), today - timedelta(days=1)
        if lo is not None and lo > first:
            first = min(lo, last)
        received = first + timedelta(days=rng.randint(0, (last - first).days))
        if lag is None:
            lag = rng.choices(LAGS, cum_weights=LAG_CUMULATIVE)[0]
        service = received - timedelta(days=lag)
        if lo is not None and service < lo:
            service = min(lo, received)
        if hi is not None and service > hi:
            service = hi
        moment = datetime.combine(received, time(0), tzinfo=UTC) + timedelta(seconds=rng.randint(6 * 3600, 22 * 3600))
        return service, moment

    def line(self, code: str, icd10: str, quantity: int, day: date, *, exact: bool = False) -> tuple:
        """Claimed at the tariff, or (a third of the time) a little above it."""
        price = self.price(code, day) or Decimal("100.00")
        amount = price * quantity
        if not exact and self.rng.random() < 0.35:
            amount = amount * (1 + Decimal(self.rng.randint(5, 30)) / 100)
        return (code, icd10, quantity, amount.quantize(CENT))

    def lines_for(self, benefit: str, day: date) -> list[tuple]:
        rng = self.rng
        icd = rng.choice(ICD10_POOL[benefit])
        if benefit == B.GP:
            consult = rng.choices(("0190", "0191", "0192"), (60, 30, 10))[0]
            if rng.random() < 0.1:
                icd = rng.choice(("E11.9,I10", "J45.9,J06.9", "I10"))
            lines = [self.line(consult, icd, 1, day)]
            for code, chance in (("0201", 0.15), ("0308", 0.1), ("1186", 0.05)):
                if rng.random() < chance:
                    lines.append(self.line(code, icd, 1, day))
            return lines
        if benefit == B.SPECIALIST:
            lines = [self.line(rng.choices(("0141", "0142", "0173"), (55, 35, 10))[0], icd, 1, day)]
            if rng.random() < 0.3:
                lines.append(self.line(rng.choice(("3011", "1210")), icd, 1, day))
            return lines
        if benefit == B.HOSPITAL:
            lines = []
            if rng.random() < 0.3:
                lines.append(self.line("58201", icd, 1, day))
            lines.append(self.line("58001", icd, rng.randint(1, 5), day))
            if rng.random() < 0.6:
                lines.append(self.line("58101", icd, rng.randint(4, 12), day))
            roll = rng.random()
            if roll < 0.05:
                lines.append(self.line("58005", icd, rng.randint(1, 3), day))
            elif roll < 0.2:
                lines.append(self.line("58003", icd, rng.randint(1, 2), day))
            return lines[:4]
        if benefit == B.CHRONIC:
            diagnoses = rng.sample(sorted(CHRONIC_MEDICINE), rng.choices((1, 2, 3), (60, 30, 10))[0])
            return [self.line(rng.choice(CHRONIC_MEDICINE[d]), d, rng.randint(1, 3), day) for d in diagnoses]
        if benefit == B.OPTICAL:
            lines = [self.line("11001", icd, 1, day)]
            if rng.random() < 0.7:
                lines.append(self.line(rng.choices(("13021", "13041"), (80, 20))[0], icd, 1, day))
                if rng.random() < 0.6:
                    lines.append(self.line("14001", icd, 1, day))
            elif rng.random() < 0.5:
                lines.append(self.line("15011", icd, 1, day))
            return lines
        if benefit == B.DENTISTRY:
            extra = rng.sample(("8109", "8159", "8341", "8201"), rng.randint(0, 2))
            return [self.line("8101", icd, 1, day)] + [self.line(code, icd, 1, day) for code in extra]
        if benefit == B.PATHOLOGY:
            tests = rng.sample(self.tariffs_by_benefit[B.PATHOLOGY], rng.randint(1, 4))
            return [self.line(code, icd, 1, day) for code in tests]
        # Radiology: one study.
        study = rng.choices(("30100", "32000", "39175", "41010", "43000"), (40, 20, 20, 12, 8))[0]
        return [self.line(study, icd, 1, day)]

    def provider_for(self, benefit: str) -> str:
        return self.rng.choice(self.active[DISCIPLINE[benefit]]).practice_number

    def draft(self, person: _Person, benefit: str, *, lo=None, hi=None, lines=None, practice=None) -> _Draft:
        member = person.member
        lo = max(lo or member.cover_start, member.cover_start)
        hi = min(x for x in (hi, member.cover_end, date.max) if x is not None)
        service, received = self.when(lo, hi)
        return _Draft(
            person, practice or self.provider_for(benefit), service, received,
            self.lines_for(benefit, service) if lines is None else lines,
        )  # fmt: skip

    def add_preauth(self, draft: _Draft, benefit: str, *, amount=None, valid_from=None, valid_to=None) -> None:
        """A pre-authorisation for this claim's event; valid and large enough unless told otherwise."""
        rng = self.rng
        day = draft.service_date
        if amount is None:
            total = sum((self.price(code, day) or CENT) * qty for code, _icd, qty, _claimed in draft.lines)
            amount = Decimal(math.ceil(total * Decimal("1.1") / 500) * 500)
        by_tariff = len(draft.lines) == 1 and rng.random() < 0.3
        self.preauths.append(PreAuthorisation(
            reference=f"PA{self.next_preauth:010d}", member=draft.person.member,
            practice_number="" if rng.random() < 0.2 else draft.practice_number,
            tariff_code=draft.lines[0][0] if by_tariff else "", benefit_code="" if by_tariff else benefit,
            authorised_amount=amount,
            valid_from=valid_from or day - timedelta(days=rng.randint(0, 10)),
            valid_to=valid_to or day + timedelta(days=rng.randint(14, 60)),
        ))  # fmt: skip
        self.next_preauth += 1

    def pick_benefit(self, person: _Person) -> str:
        benefit = self.rng.choices(CATEGORIES, cum_weights=CATEGORY_CUMULATIVE)[0]
        if benefit not in self.benefits[person.plan] and self.rng.random() < 0.75:
            return B.GP  # most members know their plan; some go to the dentist anyway
        return benefit

    def normal(self, person: _Person) -> _Draft:
        benefit = self.pick_benefit(person)
        if benefit in (B.HOSPITAL, B.RADIOLOGY) and id(person) in self.reserved:
            benefit = B.GP
        draft = self.draft(person, benefit)
        if benefit in (B.HOSPITAL, B.RADIOLOGY):
            self.add_preauth(draft, benefit)
        return draft

    def quotas(self) -> dict[str, int]:
        wanted = {name: max(minimum, round(share * self.claims)) for name, share, minimum in SCENARIOS}
        if sum(wanted.values()) <= self.claims // 2:
            return wanted
        budget, quotas = self.claims // 2, dict.fromkeys(wanted, 0)  # small runs: one of each, in turn
        while budget > 0 and any(quotas[n] < wanted[n] for n in wanted):
            for name in wanted:
                if budget > 0 and quotas[name] < wanted[name]:
                    quotas[name] += 1
                    budget -= 1
        return quotas

    def create_claims(self) -> None:
        rng, today = self.rng, self.today
        quotas = self.quotas()
        people = [person for family in self.families for person in family]
        kind_of = self.kinds
        claimable = [
            p for p in people
            if kind_of.get(p.family, "regular") not in ("suspended", "terminated", "future_cover")
            and p.member.cover_end is None and p.member.cover_start < today
        ]  # fmt: skip
        drafts: list[_Draft] = []
        heavy_families = self.heavy(quotas.pop("heavy"), drafts)
        clean = [
            p for p in claimable if kind_of.get(p.family, "regular") == "regular" and p.family not in heavy_families
        ]
        rng.shuffle(clean)

        def by_kind(*kinds):
            return [p for p in people if kind_of.get(p.family) in kinds]

        special = {
            "member_not_active": by_kind("suspended", "terminated"),
            "no_cover": by_kind("future_cover") + [p for p in by_kind("aged_out") if p.member.cover_end],
            "waiting_general": [p for p in by_kind("new_joiner") if p.member.cover_start < today],
            "waiting_condition": [p for p in by_kind("condition_wait") if any(w[0] == "condition" for w in p.waits)],
            "waiting_category": by_kind("category_wait"),
        }
        duplicates = quotas.pop("duplicate")
        for name, count in quotas.items():
            for _ in range(count):
                draft = self.scenario(name, clean, special)
                if draft is not None:
                    drafts.append(draft)
        normal_count = self.claims - len(drafts) - duplicates
        normal = [self.normal(rng.choice(claimable)) for _ in range(normal_count)] if claimable else []
        drafts.extend(normal)
        drafts.extend(self.duplicates(duplicates, normal, clean))
        while len(drafts) < self.claims and claimable:  # scenarios that found no member
            drafts.append(self.normal(rng.choice(claimable)))
        self.write_claims(drafts)

    def scenario(self, name: str, clean: list[_Person], special: dict) -> _Draft | None:
        rng = self.rng
        if name in special:
            pool = special[name]
            if not pool:
                return None
            person = rng.choice(pool)
            member = person.member
            if name == "member_not_active":  # services on or after the suspension or termination
                service, received = self.when(member.status_since)
                return _Draft(person, self.provider_for(B.GP), service, received, self.lines_for(B.GP, service))
            if name == "no_cover":
                if member.cover_end:  # services after cover ended
                    service, received = self.when(member.cover_end + timedelta(days=1))
                else:  # services before cover starts
                    service, received = self.when()
                return _Draft(person, self.provider_for(B.GP), service, received, self.lines_for(B.GP, service))
            if name == "waiting_general":
                wait = person.waits[0]
                benefit = rng.choice((B.GP, B.PATHOLOGY, B.CHRONIC, B.SPECIALIST))
                return self.draft(person, benefit, lo=wait[3], hi=wait[4])
            general_end = max((w[4] for w in person.waits if w[0] == "general"), default=date.min)
            if name == "waiting_condition":
                wait = next(w for w in person.waits if w[0] == "condition")
                benefit, icd10, code = CONDITIONS[wait[1]]
                lo = max(wait[3], general_end + timedelta(days=1))
                draft = self.draft(person, benefit, lo=lo, hi=wait[4], lines=[])
                draft.lines = [self.line(code, icd10, 1, draft.service_date)]
                return draft
            wait = next(w for w in person.waits if w[0] == "category")  # waiting_category
            return self.draft(person, wait[2], lo=max(wait[3], general_end + timedelta(days=1)), hi=wait[4])

        if not clean:
            return None
        if name == "benefit_not_on_plan":
            person = next((p for p in clean if len(self.benefits[p.plan]) < len(B)), None)
            if person is None:
                return None
            clean.remove(person)
            missing = [b for b in B if b not in self.benefits[person.plan]]
            return self.draft(person, rng.choice(missing))
        person = clean.pop()
        member = person.member
        self.reserved.add(id(person))  # its own claims stay simple: no pre-authorisation that would match
        if name == "provider_unknown":
            return self.draft(person, B.GP, practice=rng.choice(self.unknown_practices))
        if name == "provider_suspended":
            provider = rng.choice(self.suspended)
            benefit = next(b for b, d in DISCIPLINE.items() if d == provider.discipline)
            draft = self.draft(person, benefit, practice=provider.practice_number)
            return draft
        if name == "service_in_future":  # billed ahead of the appointment
            draft = self.draft(person, B.GP)
            draft.service_date = draft.received_at.date() + timedelta(days=rng.randint(1, 14))
            return draft
        if name == "window_expired":
            window = settings.CLAIM_WINDOW_DAYS
            lag = window + rng.randint(1, 90)
            service, received = self.when(lag=lag)
            if service < member.cover_start:
                return self.normal(person)
            return _Draft(person, self.provider_for(B.GP), service, received, self.lines_for(B.GP, service))
        if name == "no_lines":
            return _Draft(person, self.provider_for(B.GP), *self.when(member.cover_start), [])
        if name == "tariff_unknown":
            draft = self.draft(person, B.GP)
            code, icd, qty, claimed = draft.lines[-1]
            draft.lines[-1] = (rng.choice(self.unknown_tariffs), icd, qty, claimed)
            return draft
        if name == "tariff_not_valid":
            draft = self.draft(person, B.GP)
            stale = [c for c in sorted(self.prices) if self.price(c, draft.service_date) is None]
            if not stale:
                return draft
            code = rng.choice(stale)
            price = self.prices[code][-1][2]
            draft.lines.append((code, draft.lines[0][1], 1, price))
            return draft
        if name == "icd10_invalid":
            draft = self.draft(person, rng.choice((B.GP, B.PATHOLOGY, B.SPECIALIST)))
            position = rng.randrange(len(draft.lines))
            code, _icd, qty, claimed = draft.lines[position]
            draft.lines[position] = (code, rng.choice(BAD_ICD10), qty, claimed)
            return draft
        # Pre-authorisation problems, on hospital and radiology claims.
        benefit = rng.choice((B.HOSPITAL, B.RADIOLOGY))
        draft = self.draft(person, benefit)
        if name == "preauth_expired":  # approved for an earlier admission that did not happen then
            valid_to = draft.service_date - timedelta(days=rng.randint(5, 60))
            self.add_preauth(draft, benefit, valid_from=valid_to - timedelta(days=60), valid_to=valid_to)
        elif name == "preauth_exceeded":
            largest = max(min(claimed, (self.price(code, draft.service_date) or CENT) * qty)
                          for code, _icd, qty, claimed in draft.lines)  # fmt: skip
            self.add_preauth(draft, benefit, amount=max(Decimal(100), (largest / 200).quantize(Decimal("1")) * 100))
        return draft  # preauth_missing: none at all

    def heavy(self, budget: int, drafts: list[_Draft]) -> set[int]:
        """Families whose members claim past their member limit and, together, the family limit."""
        rng, today = self.rng, self.today
        candidates = [
            i for i, family in enumerate(self.families)
            if self.kinds.get(i, "regular") == "regular" and len(family) >= 3
        ]  # fmt: skip
        rng.shuffle(candidates)
        chosen = set()
        for index in candidates:
            if budget <= 0:
                break
            family = self.families[index]
            used = family[: min(len(family), 4)]
            plan = family[0].plan
            options = []
            for benefit, heavy_lines in HEAVY_LINES.items():
                limits = self.benefits[plan].get(benefit)
                if not limits or limits[0] is None or limits[1] is None or limits[1] >= limits[0] * len(used):
                    continue
                value = sum((self.price(code, today) or CENT) * top for code, _low, top in heavy_lines)
                pay = value * (100 - limits[2]) / 100
                if limits[3] is not None:
                    pay = min(pay, limits[3])
                if math.ceil(limits[0] * Decimal("1.3") / pay) <= 6:
                    options.append(benefit)
            if not options:
                continue
            benefit = rng.choice(options)
            limit_member, _family_limit, copay, cap, _preauth = self.benefits[plan][benefit]
            chosen.add(index)
            for person in used:
                paid = Decimal(0)
                for _ in range(8):
                    if paid >= limit_member * Decimal("1.3") or budget <= 0:
                        break
                    draft = self.draft(person, benefit, lines=[])
                    icd = rng.choice(ICD10_POOL[benefit])
                    draft.lines = [
                        self.line(code, icd, rng.randint(low, top), draft.service_date)
                        for code, low, top in HEAVY_LINES[benefit]
                    ]
                    value = sum(min(claimed, (self.price(code, draft.service_date) or CENT) * qty)
                                for code, _icd, qty, claimed in draft.lines)  # fmt: skip
                    pay = value * (100 - copay) / 100
                    paid += min(pay, cap) if cap is not None else pay
                    drafts.append(draft)
                    budget -= 1
        return chosen

    def duplicates(self, count: int, normal: list[_Draft], clean: list[_Person]) -> list[_Draft]:
        """The same claim sent again a few days later (a clean member's, so the first one is accepted)."""
        rng = self.rng
        clean_ids = {id(p) for p in clean}
        last = self.today - timedelta(days=1)
        originals = [
            d for d in normal
            if id(d.person) in clean_ids and d.lines and d.received_at.date() < last
            and d.service_date <= d.received_at.date()
            and all(self.price(line[0], d.service_date) for line in d.lines)
            and d.lines[0][0] in self.tariffs_by_benefit[B.GP] + self.tariffs_by_benefit[B.PATHOLOGY]
        ]  # fmt: skip
        copies = []
        for original in rng.sample(originals, min(count, len(originals))):
            days = rng.randint(1, (last - original.received_at.date()).days)
            received = original.received_at + timedelta(days=days, seconds=rng.randint(-3600, 3600))
            copies.append(_Draft(original.person, original.practice_number, original.service_date, received,
                                 list(original.lines)))  # fmt: skip
        return copies

    def write_claims(self, drafts: list[_Draft]) -> None:
        """Claims numbered in the order received; the two big tables go in as plain rows (see _insert_rows)."""
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
        _insert_rows(Claim, CLAIM_COLUMNS, claim_rows)
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
        _insert_rows(ClaimLine, LINE_COLUMNS, line_rows)
        self.counts.update(preauthorisations=len(self.preauths), claims=len(claim_rows), claim_lines=len(line_rows))


CLAIM_COLUMNS = (
    "claim_number", "member", "practice_number", "service_date", "received_at", "status", "reason_code",
    "total_claimed", "total_eligible", "total_copay", "total_benefit",
)  # fmt: skip
LINE_COLUMNS = (
    "claim", "line_number", "tariff_code", "icd10_codes", "quantity", "claimed_amount", "eligible_amount",
    "copay_amount", "benefit_amount", "benefit_code", "outcome", "reason_codes",
)  # fmt: skip


def _insert_rows(model, field_names, rows) -> None:
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


def _next_number(model, field_name: str, prefix: str, width: int, start: int) -> int:
    """One past the highest `prefix` + `width` digits number in the table (fixed width sorts as text)."""
    pattern = f"^{re.escape(prefix)}[0-9]{{{width}}}$"
    top = model.objects.filter(**{f"{field_name}__regex": pattern}).aggregate(top=Max(field_name))["top"]
    return max(start, int(top[len(prefix) :]) + 1) if top else start


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
