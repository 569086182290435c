"""The roles of core 0005 get the work of issue 13: assessors and claims administrators decide pended claims and
reverse decisions; they and the auditor read the reversals. Only added (core/migration_grants.py)."""

from django.db import migrations

from core.migration_grants import groups_grant, permissions_create

ACT = [("claims", "assess_claim"), ("claims", "reverse_claim"), ("claims", "view_claimreversal")]


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    permissions_create(apps, using, ["claims"])
    groups_grant(
        apps,
        using,
        {
            "claims assessor": ACT,
            "claims administrator": ACT,
            "auditor": [("claims", "view_claimreversal")],
            "member services": [("claims", "view_claimreversal")],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0007_pended_claims_and_reversals"),
        ("core", "0005_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
