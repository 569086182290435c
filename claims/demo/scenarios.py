"""The demo seeder's second half: claims that reach every outcome and reason code, written as plain rows."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings

from claims.demo.catalogue import (
    BAD_ICD10,
    CATEGORIES,
    CATEGORY_CUMULATIVE,
    CENT,
    CHRONIC_MEDICINE,
    CONDITIONS,
    DISCIPLINE,
    HEAVY_LINES,
    ICD10_POOL,
    LAG_CUMULATIVE,
    LAGS,
    SCENARIOS,
    WINDOW_DAYS,
    B,
    _Draft,
    _Person,
)
from claims.models import PreAuthorisation


class ClaimsMixin:
    """Claims for those families: every outcome and reason code, written as plain rows (of _Seeder)."""

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
            person,
            practice or self.provider_for(benefit),
            service,
            received,
            self.lines_for(benefit, service) if lines is None else lines,
        )

    def add_preauth(self, draft: _Draft, benefit: str, *, amount=None, valid_from=None, valid_to=None) -> None:
        """A pre-authorisation for this claim's event; valid and large enough unless told otherwise."""
        rng = self.rng
        day = draft.service_date
        if amount is None:
            total = sum((self.price(code, day) or CENT) * qty for code, _icd, qty, _claimed in draft.lines)
            amount = Decimal(math.ceil(total * Decimal("1.1") / 500) * 500)
        by_tariff = len(draft.lines) == 1 and rng.random() < 0.3
        self.preauths.append(
            PreAuthorisation(
                reference=f"PA{self.next_preauth:010d}",
                member=draft.person.member,
                practice_number="" if rng.random() < 0.2 else draft.practice_number,
                tariff_code=draft.lines[0][0] if by_tariff else "",
                benefit_code="" if by_tariff else benefit,
                authorised_amount=amount,
                valid_from=valid_from or day - timedelta(days=rng.randint(0, 10)),
                valid_to=valid_to or day + timedelta(days=rng.randint(14, 60)),
            )
        )
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
            p
            for p in people
            if kind_of.get(p.family, "regular") not in ("suspended", "terminated", "future_cover")
            and p.member.cover_end is None
            and p.member.cover_start < today
        ]
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
            largest = max(
                min(claimed, (self.price(code, draft.service_date) or CENT) * qty)
                for code, _icd, qty, claimed in draft.lines
            )
            self.add_preauth(draft, benefit, amount=max(Decimal(100), (largest / 200).quantize(Decimal("1")) * 100))
        return draft  # preauth_missing: none at all

    def heavy(self, budget: int, drafts: list[_Draft]) -> set[int]:
        """Families whose members claim past their member limit and, together, the family limit."""
        rng, today = self.rng, self.today
        candidates = [
            i
            for i, family in enumerate(self.families)
            if self.kinds.get(i, "regular") == "regular" and len(family) >= 3
        ]
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
                    value = sum(
                        min(claimed, (self.price(code, draft.service_date) or CENT) * qty)
                        for code, _icd, qty, claimed in draft.lines
                    )
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
            d
            for d in normal
            if id(d.person) in clean_ids
            and d.lines
            and d.received_at.date() < last
            and d.service_date <= d.received_at.date()
            and all(self.price(line[0], d.service_date) for line in d.lines)
            and d.lines[0][0] in self.tariffs_by_benefit[B.GP] + self.tariffs_by_benefit[B.PATHOLOGY]
        ]
        copies = []
        for original in rng.sample(originals, min(count, len(originals))):
            days = rng.randint(1, (last - original.received_at.date()).days)
            received = original.received_at + timedelta(days=days, seconds=rng.randint(-3600, 3600))
            copies.append(
                _Draft(original.person, original.practice_number, original.service_date, received, list(original.lines))
            )
        return copies
