"""For data migrations that add CheckConstraints: refuse clearly when existing rows break them.

Without this a migration stops on the database's own IntegrityError, naming one constraint and no
count. This says, per table and constraint, how many rows break it, and never what they hold.
"""

from __future__ import annotations


class RowsBreakConstraints(Exception):
    """Existing rows would break a constraint the migration adds."""


def refuse_rows_that_break(app_label: str, migration: str, constraints: dict[str, list]):
    """A RunPython function that raises RowsBreakConstraints when rows of `constraints` ({model: [...]}) break one."""

    def check(apps, schema_editor):
        problems = []
        for model_name, model_constraints in constraints.items():
            model = apps.get_model(app_label, model_name)
            rows = model._default_manager.using(schema_editor.connection.alias)
            for constraint in model_constraints:
                count = rows.exclude(constraint.condition).count()
                if count:
                    problems.append(
                        f"table {model._meta.db_table}: {count} row(s) break {constraint.name} "
                        f"({constraint.violation_error_message})"
                    )
        if problems:
            raise RowsBreakConstraints(
                f"{app_label}.{migration} cannot add its constraints; correct or remove these rows, then migrate "
                "again:\n  " + "\n  ".join(problems)
            )

    return check
