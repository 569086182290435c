"""The roles of core 0005 extended to the cover periods of issue 13, as that migration would have made them.

Membership periods (members) and provider status periods (providers), with their history models, are
new models of apps a role holds whole ("claims administrator": everything on members and providers;
the auditor views everything the others touch). Permissions are only added, never removed, so an
admin's edit to a group stands.
"""

import importlib

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ("members", "providers")


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    roles = importlib.import_module("core.migrations.0005_roles")
    for label in APPS:  # permissions are otherwise made after every migration (post_migrate)
        app_config = apps.get_app_config(label)
        stub = getattr(app_config, "models_module", None) is None
        if stub:
            app_config.models_module = True
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
        if stub:
            app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in roles.ROLES.items():
        group = Group.objects.using(using).filter(name=name).first()
        if group is None:
            continue
        whole_apps = [(app, model, actions) for app, model, actions in grants if app in APPS and model == "*"]
        group.permissions.add(*roles.role_permissions(Permission, whole_apps, using))


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0005_membership_periods_from_today"),
        ("providers", "0003_provider_status_periods"),
        ("claims", "0005_audit_history_roles"),
        ("core", "0005_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
