"""The roles of core 0005 extended to the cover periods of issue 13, as that migration would have made them.

Membership periods (members) and provider status periods (providers), with their history models, are
new models of apps a role holds whole ("claims administrator": everything on members and providers;
the auditor views everything the others touch). Permissions are only added, never removed, so an
admin's edit to a group stands.
"""

import importlib

from django.db import migrations

from core.migration_grants import groups_grant, permissions_create

APPS = ("members", "providers")


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    roles = importlib.import_module("core.migrations.0005_roles")
    permissions_create(apps, using, APPS)  # permissions are otherwise made after every migration
    Permission = apps.get_model("auth", "Permission")
    whole_apps = {  # role -> its grants of a whole app of APPS
        name: [(app, model, actions) for app, model, actions in grants if app in APPS and model == "*"]
        for name, grants in roles.ROLES.items()
    }
    groups_grant(
        apps, using, {name: roles.role_codenames(Permission, grants, using) for name, grants in whole_apps.items()}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0005_membership_periods_from_today"),
        ("providers", "0003_provider_status_periods"),
        ("claims", "0005_audit_history_roles"),
        ("core", "0005_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
