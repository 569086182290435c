"""Indexes the daily report reads a day of claims by: decided_at and received_at.

They index claims' table, but the report is their only reader, so they live with it. Without them
PostgreSQL scans the whole claims table for each of the report's queries (bench/reports.py).
IF NOT EXISTS: safe to apply where an operator created them by hand.
"""

from django.db import migrations

INDEXES = {"claim_decided_at": "decided_at", "claim_received_at": "received_at"}


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial"), ("claims", "0001_initial")]
    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {name} ON claims_claim ({column})",
            f"DROP INDEX IF EXISTS {name}",
        )
        for name, column in INDEXES.items()
    ]
