"""The operator and the auditor (core 0005's roles) may read the stored health check runs (issue 11).

Only added, never removed, so an admin's edit to a group stands; a group that does not exist is left
alone. A run holds component names, latencies and counts: no personal data.
"""

from django.db import migrations

from core.migration_grants import groups_grant, permissions_create

READERS = ("operator", "auditor")


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    permissions_create(apps, using, ["core"])  # permissions are otherwise made after migrate
    groups_grant(apps, using, {name: [("core", "view_healthcheckrun")] for name in READERS})


class Migration(migrations.Migration):
    dependencies = [("core", "0007_health_check_runs"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
