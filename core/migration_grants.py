"""For data migrations that grant the roles (core 0005's groups) permissions: make them, then add them.

Django makes permissions in post_migrate, after every migration has run, so a migration that grants
one must make it first. Grants are only ever added: an admin's later edit to a group stands, and a
group an admin deleted stays deleted.
"""

from __future__ import annotations

from django.contrib.auth.management import create_permissions


def permissions_create(apps, using: str, labels) -> None:
    """Make the permissions of the apps `labels` now, for the models of the migration state `apps`."""
    for label in labels:
        app_config = apps.get_app_config(label)
        # A historical app config has no models module, and create_permissions skips an app without one.
        stub = getattr(app_config, "models_module", None) is None
        if stub:
            app_config.models_module = True
        try:
            create_permissions(app_config, verbosity=0, using=using, apps=apps)
        finally:
            if stub:
                app_config.models_module = None


def groups_grant(apps, using: str, grants: dict[str, list[tuple[str, str]]]) -> None:
    """Add to each group in `grants` that exists the permissions given as (app_label, codename).

    A missing group is skipped; a missing permission raises LookupError naming it, whether or not its
    group exists (a typo fails on every database). Nothing is removed.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = {pair for pairs in grants.values() for pair in pairs}
    found = {}
    for app_label in sorted({app_label for app_label, _ in wanted}):
        codenames = [codename for label, codename in wanted if label == app_label]
        for permission in Permission.objects.using(using).filter(
            content_type__app_label=app_label, codename__in=codenames
        ):
            found[(app_label, permission.codename)] = permission
    missing = sorted(wanted - set(found))
    if missing:
        raise LookupError("no permission " + ", ".join(f"{app}.{code}" for app, code in missing))
    for name, pairs in grants.items():
        group = Group.objects.using(using).filter(name=name).first()
        if group is None:
            continue  # deleted by an admin, or never made on this database: theirs stands
        group.permissions.add(*[found[pair] for pair in pairs])
