"""The roles of core 0005 extended to the history models (issue 11), as that migration would have made them.

A role that holds a whole app ("claims administrator": everything on claims, members and providers) also
holds its history models, and the auditor views them. Permissions are only added, never removed, so an
admin's edit to a group stands. Reading history in the admin follows the model's own view permission
(SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS is off), so these grants keep the roles complete,
they do not open anything.
"""

import importlib

from django.db import migrations

from core.migration_grants import groups_grant, permissions_create

AUDITED_APPS = ("claims", "members", "providers")


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    roles = importlib.import_module("core.migrations.0005_roles")
    permissions_create(apps, using, AUDITED_APPS)  # permissions are otherwise made after every migration
    Permission = apps.get_model("auth", "Permission")
    history = list(  # (app_label, codename) of every history model's permission
        Permission.objects.using(using)
        .filter(content_type__app_label__in=AUDITED_APPS, content_type__model__startswith="historical")
        .values_list("content_type__app_label", "codename")
    )
    grants = {}
    for name, role_grants in roles.ROLES.items():
        whole_apps = {app: actions for app, model, actions in role_grants if model == "*" and app in AUDITED_APPS}
        grants[name] = [
            (app, codename)
            for app, codename in history
            if app in whole_apps and codename.split("_", 1)[0] in whole_apps[app]
        ]
    groups_grant(apps, using, grants)


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0004_audit_history"),
        ("members", "0003_audit_history"),
        ("providers", "0002_audit_history"),
        ("core", "0005_roles"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
