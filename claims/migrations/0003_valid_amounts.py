"""Amounts and dates that make sense, enforced by the database (issue 8 §1: adjudication never pays on nonsense).

Before a constraint is added, the rows that break it are counted: a database holding such rows stops here with
the table, the constraint and how many rows (no row contents), instead of a bare IntegrityError half-way.
"""

from decimal import Decimal

import django.core.validators
from django.db import migrations, models

from core.migration_checks import refuse_rows_that_break

POSITIVE_MONEY = [django.core.validators.MinValueValidator(Decimal("0.01"), "Enter an amount of at least 0.01.")]
NOT_NEGATIVE_MONEY = [django.core.validators.MinValueValidator(Decimal("0"), "Enter an amount of 0 or more.")]

CONSTRAINTS = {
    "claim": [
        models.CheckConstraint(
            condition=models.Q(total_eligible__gte=0, total_copay__gte=0, total_benefit__gte=0),
            name="claim_decided_totals_not_negative",
            violation_error_message="A claim's eligible, co-payment and benefit totals cannot be negative.",
        ),
    ],
    "claimline": [
        models.CheckConstraint(
            condition=models.Q(quantity__gt=0), name="claimline_quantity_positive",
            violation_error_message="The quantity must be at least 1.",
        ),
        models.CheckConstraint(
            condition=models.Q(claimed_amount__gt=0), name="claimline_claimed_positive",
            violation_error_message="The amount claimed must be more than 0.",
        ),
        models.CheckConstraint(
            condition=models.Q(eligible_amount__gte=0, copay_amount__gte=0, benefit_amount__gte=0),
            name="claimline_amounts_not_negative",
            violation_error_message="Eligible, co-payment and benefit amounts cannot be negative.",
        ),
    ],
    "preauthorisation": [
        models.CheckConstraint(
            condition=models.Q(authorised_amount__gt=0), name="preauth_amount_positive",
            violation_error_message="The authorised amount must be more than 0.",
        ),
        models.CheckConstraint(
            condition=models.Q(valid_to__gte=models.F("valid_from")), name="preauth_dates_in_order",
            violation_error_message="The end of validity cannot be before its start.",
        ),
    ],
    "tariffcode": [
        models.CheckConstraint(
            condition=models.Q(unit_price__gt=0), name="tariff_price_positive",
            violation_error_message="The unit price must be more than 0.",
        ),
        models.CheckConstraint(
            condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
            name="tariff_dates_in_order", violation_error_message="The end of validity cannot be before its start.",
        ),
    ],
}  # fmt: skip


refuse_rows_that_break_the_constraints = refuse_rows_that_break("claims", "0003_valid_amounts", CONSTRAINTS)


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0002_bulk_job_recovery"),
    ]

    operations = [
        migrations.RunPython(refuse_rows_that_break_the_constraints, migrations.RunPython.noop, elidable=True),
        *(
            migrations.AlterField(
                model_name=model_name, name=name,
                field=models.DecimalField(decimal_places=2, default=0, max_digits=12, validators=NOT_NEGATIVE_MONEY),
            )
            for model_name, name in (
                ("claim", "total_benefit"), ("claim", "total_claimed"), ("claim", "total_copay"),
                ("claim", "total_eligible"), ("claimline", "benefit_amount"), ("claimline", "copay_amount"),
                ("claimline", "eligible_amount"),
            )
        ),
        *(
            migrations.AlterField(
                model_name=model_name, name=name,
                field=models.DecimalField(decimal_places=2, max_digits=12, validators=POSITIVE_MONEY),
            )
            for model_name, name in (
                ("claimline", "claimed_amount"), ("preauthorisation", "authorised_amount"),
                ("tariffcode", "unit_price"),
            )
        ),
        migrations.AlterField(
            model_name="claimline",
            name="quantity",
            field=models.PositiveIntegerField(
                default=1, validators=[django.core.validators.MinValueValidator(1, "Enter a whole number from 1.")]
            ),
        ),
        migrations.AlterField(
            model_name="tariffcode",
            name="valid_to",
            field=models.DateField(blank=True, help_text="empty = no end", null=True),
        ),
        *(
            migrations.AddConstraint(model_name=model_name, constraint=constraint)
            for model_name, constraints in CONSTRAINTS.items()
            for constraint in constraints
        ),
    ]  # fmt: skip
