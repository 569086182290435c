"""Benefit rules and waiting periods that make sense, enforced by the database (issue 8 §1).

Before a constraint is added, the rows that break it are counted: a database holding such rows stops here with
the table, the constraint and how many rows (no row contents), instead of a bare IntegrityError half-way.
"""

from decimal import Decimal

import django.core.validators
from django.db import migrations, models

from core.migration_checks import refuse_rows_that_break

NOT_NEGATIVE = [django.core.validators.MinValueValidator(Decimal("0"), "Enter 0 or more (leave empty for no limit).")]
PERCENT = [
    django.core.validators.MinValueValidator(0, "Enter a percentage from 0 to 100."),
    django.core.validators.MaxValueValidator(100, "Enter a percentage from 0 to 100."),
]

CONSTRAINTS = {
    "benefitcategory": [
        models.CheckConstraint(
            condition=models.Q(copay_percent__gte=0, copay_percent__lte=100), name="benefit_copay_percent_0_100",
            violation_error_message="The co-payment must be a percentage from 0 to 100.",
        ),
        models.CheckConstraint(
            condition=(models.Q(annual_limit_member__isnull=True) | models.Q(annual_limit_member__gte=0))
            & (models.Q(annual_limit_family__isnull=True) | models.Q(annual_limit_family__gte=0))
            & (models.Q(per_event_cap__isnull=True) | models.Q(per_event_cap__gte=0)),
            name="benefit_limits_not_negative",
            violation_error_message="Limits and the per-event cap must be 0 or more (empty for no limit).",
        ),
    ],
    "waitingperiod": [
        models.CheckConstraint(
            condition=models.Q(end__gte=models.F("start")), name="waiting_dates_in_order",
            violation_error_message="A waiting period cannot end before it starts.",
        ),
        models.CheckConstraint(
            condition=~models.Q(kind="condition") | ~models.Q(icd10_prefix=""), name="waiting_condition_has_icd10",
            violation_error_message="A condition waiting period needs an ICD-10 prefix.",
        ),
        models.CheckConstraint(
            condition=~models.Q(kind="category") | ~models.Q(benefit_code=""), name="waiting_category_has_benefit",
            violation_error_message="A category waiting period needs a benefit code.",
        ),
    ],
}  # fmt: skip


refuse_rows_that_break_the_constraints = refuse_rows_that_break("members", "0002_valid_benefits", CONSTRAINTS)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(refuse_rows_that_break_the_constraints, migrations.RunPython.noop, elidable=True),
        *(
            migrations.AlterField(
                model_name="benefitcategory", name=name,
                field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True,
                                          validators=NOT_NEGATIVE),
            )
            for name in ("annual_limit_family", "annual_limit_member", "per_event_cap")
        ),
        migrations.AlterField(
            model_name="benefitcategory", name="copay_percent",
            field=models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=5, validators=PERCENT),
        ),
        *(
            migrations.AddConstraint(model_name=model_name, constraint=constraint)
            for model_name, constraints in CONSTRAINTS.items()
            for constraint in constraints
        ),
    ]  # fmt: skip
