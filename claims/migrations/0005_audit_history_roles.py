"""The roles of core 0005 extended to the history models (issue 11), as that migration would have made them.

A role that holds a whole app ("claims administrator": everything on claims, members and providers) also
holds its history models, and the auditor views them. Permissions are only added, never removed, so an
admin's edit to a group stands. Reading history in the admin follows the model's own view permission
(SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS is off), so these grants keep the roles complete,
they do not open anything.
"""

import importlib

from django.contrib.auth.management import create_permissions
from django.db import migrations

AUDITED_APPS = ("claims", "members", "providers")


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    roles = importlib.import_module("core.migrations.0005_roles")
    for label in AUDITED_APPS:  # permissions are otherwise made after every migration (post_migrate)
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
        for app_label, model, actions in grants:
            if model != "*" or app_label not in AUDITED_APPS:
                continue
            history = Permission.objects.using(using).filter(
                content_type__app_label=app_label, content_type__model__startswith="historical"
            )
            group.permissions.add(*[p for p in history if p.codename.split("_", 1)[0] in actions])


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0004_audit_history"),
        ("members", "0003_audit_history"),
        ("providers", "0002_audit_history"),
        ("core", "0005_roles"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
