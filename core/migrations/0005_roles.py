"""The roles (issue 10): Django groups with the model permissions each needs; the admin and the API read them.

Permissions are made by post_migrate, after every migration, so this migration makes them first
(core/migration_grants.py). A group that exists already is left as it is: an admin's later edit to
a role survives a re-run or a new database copied from an old one. The README "Security" table says
the same as ROLES below.
"""

from django.db import migrations

from core.migration_grants import groups_grant, permissions_create

ALL = ("view", "add", "change", "delete")
VIEW = ("view",)

# role -> [(app_label, model or "*" for every model of the app, actions)]
ROLES = {
    "claims assessor": [
        ("claims", "claim", ("view", "add", "change")),
        ("claims", "claimline", VIEW),
        ("claims", "tariffcode", VIEW),
        ("claims", "preauthorisation", VIEW),
        ("claims", "benefitledger", VIEW),
        ("claims", "bulkclaimjob", ("view", "add")),
        ("members", "member", VIEW),
        ("members", "plan", VIEW),
        ("providers", "provider", VIEW),
        ("reports", "dailyreport", VIEW),
    ],
    "claims administrator": [
        ("claims", "*", ALL),  # claims, lines, tariffs, pre-auths, ledger, bulk jobs and their chunks
        ("members", "*", ALL),  # members, schemes, plans, benefits, waiting periods
        ("providers", "*", ALL),
        ("reports", "dailyreport", VIEW),
    ],
    "operator": [  # the platform and its health; no personal data
        ("django_celery_beat", "*", ALL),
        ("django_celery_results", "*", ALL),
        ("broker", "*", ALL),
        ("core", "beatlock", ALL),
        ("axes", "accessattempt", ALL),  # deleting one unlocks a login
        ("claims", "bulkclaimjob", VIEW),
    ],
    "member services": [
        ("members", "member", ("view", "change")),
        ("notifications", "notification", ("view", "add", "change")),
        ("claims", "claim", VIEW),
    ],
}
# The auditor reads everything the other roles touch, and changes nothing.
ROLES["auditor"] = sorted({(app, model, VIEW) for grants in ROLES.values() for app, model, _ in grants})

APPS = {app for grants in ROLES.values() for app, _, _ in grants}


def role_codenames(Permission, grants, using) -> list[tuple[str, str]]:
    """The (app_label, codename) of each permission `grants` names, "*" read from the app's permissions."""
    found = []
    for app_label, model, actions in grants:
        for action in actions:
            if model == "*":
                codenames = list(
                    Permission.objects.using(using)
                    .filter(content_type__app_label=app_label, codename__startswith=f"{action}_")
                    .values_list("codename", flat=True)
                )
                if not codenames:
                    raise LookupError(f"no {action} permission in the app {app_label}")
                found.extend((app_label, codename) for codename in codenames)
            else:
                found.append((app_label, f"{action}_{model}"))  # groups_grant says which is missing
    return found


def roles_create(apps, schema_editor):
    using = schema_editor.connection.alias
    permissions_create(apps, using, sorted(APPS))
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    made = {}
    for name, grants in ROLES.items():
        if Group.objects.using(using).filter(name=name).exists():
            continue  # an admin may have edited it: theirs stands
        Group.objects.using(using).create(name=name)
        made[name] = role_codenames(Permission, grants, using)
    groups_grant(apps, using, made)  # only the groups just made, which hold nothing yet


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_beat_lock"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("claims", "0003_valid_amounts"),
        ("members", "0002_valid_benefits"),
        ("providers", "0001_initial"),
        ("notifications", "0003_relay_every_minute"),
        ("reports", "0003_periodic_task"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("django_celery_results", "0014_alter_taskresult_status"),
        ("broker", "0002_fencing_and_dead_letters"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(roles_create, migrations.RunPython.noop)]
