"""The roles of core 0005 get the work of issue 13: assessors and claims administrators decide pended claims and
reverse decisions; they, member services and the auditor read the reversals. The claims administrator holds
everything on claims, as core 0005 made it, the new models included. Only added (core/migration_grants.py)."""

from django.db import migrations

from core.migration_grants import groups_grant, permissions_create

ACT = [("claims", "assess_claim"), ("claims", "reverse_claim"), ("claims", "view_claimreversal")]


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    permissions_create(apps, using, ["claims"])
    Permission = apps.get_model("auth", "Permission")
    every = Permission.objects.using(using).filter(content_type__app_label="claims").values_list("codename", flat=True)
    groups_grant(
        apps,
        using,
        {
            "claims assessor": ACT,
            "claims administrator": [("claims", codename) for codename in every],
            "auditor": [("claims", "view_claimreversal"), ("claims", "view_pendedclaim")],
            "member services": [("claims", "view_claimreversal")],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0009_pended_claim_queue"),
        ("core", "0005_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
