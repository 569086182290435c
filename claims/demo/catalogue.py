"""What the demo scheme is made of: plans, the price list, scenarios, names; small date helpers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from members.models import BenefitCode, Member
from providers.models import Provider

B = BenefitCode
D = Provider.Discipline
CENT = Decimal("0.01")
BATCH_SIZE = 2000
WINDOW_DAYS = 30  # claims are received over the last 30 days

# --- The scheme's options: (limit per member, per family, co-payment %, per-event cap, pre-auth) ---
# Amounts in ZAR; None = unlimited. Essential has no optical or dental benefit (BENEFIT_NOT_ON_PLAN).
PLANS = (
    (
        "ESSENTIAL",
        "Essential",
        35,
        {
            B.GP: ("3500", "7000", "10", None, False),
            B.SPECIALIST: ("4000", "8000", "20", "2000", False),
            B.HOSPITAL: (None, "150000", "25", "20000", True),
            B.CHRONIC: ("6000", "12000", "20", None, False),
            B.PATHOLOGY: ("2500", "5000", "10", None, False),
            B.RADIOLOGY: ("3000", "6000", "20", "2500", True),
        },
    ),
    (
        "CLASSIC",
        "Classic",
        45,
        {
            B.GP: ("6000", "15000", "0", None, False),
            B.SPECIALIST: ("10000", "20000", "10", "5000", False),
            B.HOSPITAL: ("500000", "1000000", "10", "60000", True),
            B.CHRONIC: ("15000", "30000", "10", None, False),
            B.OPTICAL: ("2500", "6000", "0", "2500", False),
            B.DENTISTRY: ("4000", "10000", "10", None, False),
            B.PATHOLOGY: ("5000", "12000", "0", None, False),
            B.RADIOLOGY: ("8000", "16000", "10", "6000", True),
        },
    ),
    (
        "COMPREHENSIVE",
        "Comprehensive",
        20,
        {
            B.GP: (None, None, "0", None, False),
            B.SPECIALIST: ("30000", "60000", "0", None, False),
            B.HOSPITAL: (None, None, "0", None, True),
            B.CHRONIC: ("40000", "80000", "0", None, False),
            B.OPTICAL: ("4500", "12000", "0", None, False),
            B.DENTISTRY: ("10000", "25000", "0", None, False),
            B.PATHOLOGY: (None, None, "0", None, False),
            B.RADIOLOGY: ("25000", "50000", "0", "15000", True),
        },
    ),
)

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
# Reviewed by an assessor before payment (issue 13): a line above the option's threshold for the benefit
# (PENDED_REVIEW_THRESHOLD), a code the scheme marked for review (PENDED_TARIFF_REVIEW).
REVIEW_THRESHOLDS = {("ESSENTIAL", B.GP): "700", ("CLASSIC", B.SPECIALIST): "1500"}
REVIEWED_TARIFFS = ("3011",)
# Codes that are on no price list (TARIFF_UNKNOWN): typos and made-up codes.
UNKNOWN_TARIFFS = ("0000", "9999", "01900", "019O", "X123", "5800", "0189")
# Diagnoses that are not well-formed ICD-10 (ICD10_INVALID).
BAD_ICD10 = ("XYZ", "", "J06-9", "123.4", "J6.9", "E11.9,ZZ", "  ")

DISCIPLINE = {
    B.GP: D.GP,
    B.SPECIALIST: D.SPECIALIST,
    B.HOSPITAL: D.HOSPITAL,
    B.CHRONIC: D.PHARMACY,
    B.OPTICAL: D.OPTOMETRIST,
    B.DENTISTRY: D.DENTIST,
    B.PATHOLOGY: D.PATHOLOGY,
    B.RADIOLOGY: D.RADIOLOGY,
}
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
    "E11.9": ("703811001", "700520001"),
    "I10": ("705442001",),
    "E78.0": ("716290001",),
    "J45.9": ("708118001",),
    "E03.9": ("712345001",),
}
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
    B.GP: 38,
    B.PATHOLOGY: 14,
    B.CHRONIC: 14,
    B.SPECIALIST: 12,
    B.DENTISTRY: 8,
    B.OPTICAL: 4,
    B.RADIOLOGY: 5,
    B.HOSPITAL: 5,
}
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
    "Thandiwe",
    "Nomvula",
    "Ayesha",
    "Lerato",
    "Zanele",
    "Priya",
    "Anele",
    "Karabo",
    "Naledi",
    "Fatima",
    "Sarah",
    "Michelle",
    "Busisiwe",
    "Lindiwe",
    "Refilwe",
    "Nadia",
    "Chantelle",
    "Palesa",
    "Kgomotso",
    "Annelie",
)
FIRST_M = (
    "Sipho",
    "Thabo",
    "Johan",
    "Mohammed",
    "Sibusiso",
    "Pieter",
    "Themba",
    "Bongani",
    "Rajesh",
    "Kagiso",
    "Lwazi",
    "Andile",
    "Tshepo",
    "Riaan",
    "Mandla",
    "Yusuf",
    "Ethan",
    "Lungile",
    "Vusi",
    "Pravin",
)
SURNAMES = (
    "Nkosi",
    "Dlamini",
    "van der Merwe",
    "Naidoo",
    "Botha",
    "Mokoena",
    "Khumalo",
    "Pillay",
    "Ndlovu",
    "Smith",
    "Mahlangu",
    "Jacobs",
    "Venter",
    "Mthembu",
    "Pretorius",
    "Govender",
    "Sithole",
    "Coetzee",
    "Molefe",
    "Adams",
    "Zulu",
    "Ngcobo",
    "du Plessis",
    "Maharaj",
    "Mabaso",
    "Williams",
    "Nel",
    "Baloyi",
    "Hendricks",
    "Shabalala",
)
TOWNS = (
    "Sandton",
    "Rosebank",
    "Durbanville",
    "Umhlanga",
    "Centurion",
    "Bellville",
    "Rondebosch",
    "Pinetown",
    "Midrand",
    "Soweto",
    "Polokwane",
    "Mbombela",
    "Bloemfontein",
    "Gqeberha",
    "East London",
    "Stellenbosch",
    "Pietermaritzburg",
    "Kimberley",
    "Rustenburg",
    "George",
)
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
