"""The operator and the auditor (core 0005's roles) may read the stored health check runs (issue 11).

Only added, never removed, so an admin's edit to a group stands; a group that does not exist is left
alone. A run holds component names, latencies and counts: no personal data.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READERS = ("operator", "auditor")


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    app_config = apps.get_app_config("core")
    stub = getattr(app_config, "models_module", None) is None  # permissions are otherwise made after migrate
    if stub:
        app_config.models_module = True
    create_permissions(app_config, verbosity=0, using=using, apps=apps)
    if stub:
        app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.using(using).get(content_type__app_label="core", codename="view_healthcheckrun")
    for group in apps.get_model("auth", "Group").objects.using(using).filter(name__in=READERS):
        group.permissions.add(view)


class Migration(migrations.Migration):
    dependencies = [("core", "0007_health_check_runs"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
