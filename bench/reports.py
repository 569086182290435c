"""The daily claims report over a big claims table: `python -m bench.reports [--claims 1000000]`.

On PostgreSQL, in a throwaway database `medaid_bench_reports` (dropped and created by the bench, left
behind for inspection; `--drop` removes it at the end): seeds N decided claims spread over N / 100,000
days (so one day holds 100,000 of them) with 1-2 lines each, 2,000 providers, 4 plans and N / 20
members, all by `INSERT ... SELECT generate_series()` in the database (no ORM row, no Python loop),
then ANALYZE. It times `daily_report_generate` for the middle day (best and median of --repeat runs)
and, in the same run, the baseline (reports/naive.py: the same figures from the ORM without SQL
aggregation, the day's claims with their member joined and rejected lines prefetched per chunk of 2,000,
summed in Python), checks both give identical figures and prints the ratio. The last line is one JSON
object. Targets on the 2-core machine: under 5 s for the day, at least 20x the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "medaid_bench_reports"
SERVER = "postgres://root@127.0.0.1:5432"
PER_DAY = 100_000
FIRST_DAY = date(2026, 10, 1)

SEED_SQL = [
    "INSERT INTO members_scheme (code, name) VALUES ('BENCH', 'Bench Medical Scheme')",
    """INSERT INTO members_plan (scheme_id, code, name, year, effective_from, effective_to)
       SELECT (SELECT id FROM members_scheme), 'P' || p, (ARRAY['Classic','Saver','Comprehensive','Network'])[p],
              2026, DATE '2026-01-01', DATE '2026-12-31' FROM generate_series(1, 4) p""",
    """INSERT INTO providers_provider (practice_number, name, discipline, status)
       SELECT lpad(p::text, 7, '0'), 'Practice ' || p,
              (ARRAY['gp', 'specialist', 'hospital', 'pharmacy', 'optometrist', 'dentist', 'pathology',
                     'radiology'])[1 + p % 8],
              CASE WHEN p % 50 = 0 THEN 'suspended' ELSE 'active' END
       FROM generate_series(1, %(providers)s) p""",
    """INSERT INTO members_member (membership_number, dependant_code, relationship, plan_id, first_name, last_name,
              date_of_birth, gender, email, status, status_since, join_date, cover_start)
       SELECT (800000000 + m)::text, '00', 'principal', (SELECT min(id) FROM members_plan) + m % 4, 'Bench', 'Member',
              DATE '1980-01-01', 'X', '', 'active', DATE '2020-01-01', DATE '2020-01-01', DATE '2020-01-01'
       FROM generate_series(1, %(members)s) m""",
    # Claim i: received on day (i-1) / PER_DAY at a scattered second, decided 0-2 h later; 70 % approved,
    # 10 % partially approved, 20 % rejected; 1-5 providers per 1,000 claims unknown to the registry.
    """INSERT INTO claims_claim (claim_number, member_id, practice_number, service_date, received_at, status,
              reason_code, total_claimed, total_eligible, total_copay, total_benefit, decided_at)
       SELECT 'B' || lpad(i::text, 9, '0'), (SELECT min(id) FROM members_member) + i % %(members)s,
              CASE WHEN i % 997 = 0 THEN '9999999' ELSE lpad((1 + (i * 7919) % %(providers)s)::text, 7, '0') END,
              d - 3, r, s, CASE WHEN s = 'rejected' AND i % 3 = 0 THEN 'MEMBER_NOT_ACTIVE' ELSE '' END,
              c, CASE s WHEN 'rejected' THEN 0 WHEN 'partially_approved' THEN c * 0.8 ELSE c END,
              CASE s WHEN 'rejected' THEN 0 WHEN 'partially_approved' THEN c * 0.08 ELSE c * 0.1 END,
              CASE s WHEN 'rejected' THEN 0 WHEN 'partially_approved' THEN c * 0.72 ELSE c * 0.9 END,
              r + make_interval(secs => (i * 31) % 7200)
       FROM (SELECT i, %(first)s::date + ((i - 1) / %(per_day)s)::int AS d,
                    %(first)s::timestamptz + ((i - 1) / %(per_day)s) * interval '1 day'
                        + make_interval(secs => (i * 104729) % 79200) AS r,
                    CASE WHEN i % 10 < 7 THEN 'approved' WHEN i % 10 = 7 THEN 'partially_approved'
                         ELSE 'rejected' END AS s,
                    (100 + (i % 50) * 20)::numeric(12, 2) AS c
             FROM generate_series(1::bigint, %(claims)s) i) g""",
    """INSERT INTO claims_claimline (claim_id, line_number, tariff_code, icd10_codes, quantity, claimed_amount,
              eligible_amount, copay_amount, benefit_amount, benefit_code, outcome, reason_codes)
       SELECT c.id, n, '0190', 'J06.9', 1, c.total_claimed / k, 0, 0, 0, 'GP',
              CASE WHEN c.status = 'rejected' OR (c.status = 'partially_approved' AND n = 2) THEN 'rejected'
                   ELSE 'approved' END,
              CASE WHEN c.status = 'rejected' AND c.reason_code <> '' THEN c.reason_code
                   WHEN c.status = 'rejected' OR (c.status = 'partially_approved' AND n = 2)
                   THEN (ARRAY['TARIFF_UNKNOWN','WAITING_PERIOD_GENERAL','PREAUTH_MISSING','ICD10_INVALID',
                               'BENEFIT_NOT_ON_PLAN'])[1 + c.id % 5]
                   ELSE 'PAID' END
       FROM claims_claim c, LATERAL (SELECT CASE WHEN c.id % 3 = 0 OR c.status = 'partially_approved'
                                            THEN 2 ELSE 1 END AS k) lines,
            generate_series(1, lines.k) n""",
    """INSERT INTO claims_bulkclaimjob (status, claim_ids, requested, total, done, approved, partially_approved,
              rejected, already_decided, not_found, failed, chunks_total, chunks_done, created_at, error, resumes)
       SELECT 'completed', '[]', 5000, 5000, 5000, 0, 0, 0, 0, 0, 0, 3, 3,
              %(first)s::timestamptz + (j / 3) * interval '1 day' + interval '7 hours', '', 0
       FROM generate_series(0, %(days)s * 3 - 1) j""",
    "ANALYZE",
]


def setup_django() -> None:
    # DEBUG off: with it on, Django wraps every cursor and keeps every query, which would slow the
    # baseline (two queries per 2,000 claims) more than the report (a handful) and flatter the ratio.
    os.environ.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="bench-only-not-secret",
        DATABASE_URL=f"{SERVER}/{DB_NAME}",
        REDIS_URL="",
        CELERY_BROKER_URL="",
        CELERY_RESULT_BACKEND="",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def fresh_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def seed(claims: int) -> dict[str, float]:
    from django.db import connection

    days = max(1, -(-claims // PER_DAY))
    params = {
        "claims": claims,
        "members": max(claims // 20, 10),
        "providers": 2000,
        "per_day": PER_DAY,
        "first": FIRST_DAY.isoformat(),
        "days": days,
    }
    timings = {}
    with connection.cursor() as cursor:
        for number, statement in enumerate(SEED_SQL):
            started = time.perf_counter()
            if "%(" in statement:  # with parameters, the modulo operator must be written %%
                cursor.execute(statement.replace(" % ", " %% "), params)
            else:
                cursor.execute(statement)
            timings[f"step{number}"] = time.perf_counter() - started
    return timings


def timed(function, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(**kwargs)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="report runs to time (best and median)")
    parser.add_argument("--skip-naive", action="store_true", help="time only the report")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    args = parser.parse_args()

    fresh_database()
    setup_django()
    from django.core.management import call_command

    from claims.models import Claim
    from reports.naive import report_figures_naive
    from reports.selectors import report_figures
    from reports.services import daily_report_generate

    call_command("migrate", verbosity=0)
    seed_s = sum(seed(args.claims).values())
    days = max(1, -(-args.claims // PER_DAY))
    day = FIRST_DAY + timedelta(days=days // 2)
    table = Claim.objects.count()
    print(f"seeded {table:,} claims over {days} day(s) in {seed_s:.1f} s (SQL generate_series)")

    runs = []
    for _ in range(args.repeat):
        elapsed, report = timed(daily_report_generate, day=day)
        runs.append(elapsed)
    report_s = statistics.median(runs)
    print(
        f"report for {day}: {report.claims_decided:,} claims decided, {report.claims_received:,} received; "
        f"runs {', '.join(f'{r:.3f}' for r in runs)} s (best {min(runs):.3f}, median {report_s:.3f})"
    )

    naive_s, same = None, None
    if not args.skip_naive:
        naive_s, naive = timed(report_figures_naive, day=day)
        same = naive == report_figures(day=day)
        print(f"baseline (ORM, select/prefetch_related, sums in Python): {naive_s:.2f} s; identical figures: {same}")
    speedup = round(naive_s / report_s, 1) if naive_s else None
    checks = [("report < 5 s", report_s < 5)]
    if naive_s:
        checks += [("speedup >= 20x", speedup >= 20), ("identical figures", same)]
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {label}")
    if args.drop:
        drop_database()
    print(
        json.dumps(
            {
                "claims_in_table": table,
                "day": day.isoformat(),
                "claims_in_day": report.claims_decided,
                "report_s": round(report_s, 3),
                "report_best_s": round(min(runs), 3),
                "naive_s": round(naive_s, 2) if naive_s else None,
                "speedup": speedup,
                "identical": same,
                "seed_s": round(seed_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
