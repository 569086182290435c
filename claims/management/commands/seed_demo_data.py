"""`manage.py seed_demo_data --members N --claims M [--seed S]`: a demo scheme with pending claims."""

import os
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from claims.demo import demo_data_seed
from claims.demo.users import DEMO_USERS, demo_users_ensure
from members.models import Scheme


class Command(BaseCommand):
    help = (
        "Create a demo scheme (plans, price list, providers, member families, waiting periods, "
        "pre-authorisations) and pending claims that reach every adjudication reason. "
        "Deterministic for a seed; adds a new set when run again. Also one staff user per role "
        f"({', '.join(DEMO_USERS)}) if missing, with the password in DEMO_PASSWORD or a random one printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=200, help="members, dependants included (default 200)")
        parser.add_argument("--claims", type=int, default=1000, help="pending claims (default 1000)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            help="the day the data is dated from, YYYY-MM-DD (default today, UTC)",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if the database already has a scheme (for `make run`)"
        )

    def handle(self, *args, **options):
        members, claims = options["members"], options["claims"]
        for name, value in (("--members", members), ("--claims", claims)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise CommandError(f"{name} must be a positive whole number, not {value!r}")
        self.demo_users()
        if options["if_empty"] and Scheme.objects.exists():
            self.stdout.write("The database already has a scheme: no demo data added.")
            return
        started = time.monotonic()
        counts = demo_data_seed(members=members, claims=claims, seed=options["seed"], today=options["today"])
        if connection.vendor == "postgresql":
            # Fresh planner statistics after a bulk load: without them PostgreSQL guesses the new tables
            # are small and scans them whole (measured: 4x slower adjudication where autovacuum is off).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        elapsed = time.monotonic() - started
        for key, value in counts.items():
            self.stdout.write(f"{key.replace('_', ' ')}: {value}")
        self.stdout.write(self.style.SUCCESS(f"Demo data created in {elapsed:.1f} s."))

    def demo_users(self):
        given = os.environ.get("DEMO_PASSWORD") or None
        created, password = demo_users_ensure(given)
        if created:
            shown = "the one in DEMO_PASSWORD" if given else f"{password} (shown only now)"
            self.stdout.write(f"Demo users {', '.join(created)} (staff, one per role), password: {shown}")
