"""The database cache's table, created by `migrate` whatever cache the process runs with.

Django's `createcachetable` creates tables only for caches configured as DatabaseCache *now*: run
while Redis answers it creates nothing, and a process that later falls back to the database cache
(or an operator who never ran it) failed with "no such table: django_cache" (issue 8). The table is
made here with Django's own command code, so its shape is exactly what DatabaseCache expects.
"""

from django.conf import settings
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations


def create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    # Does nothing when the table exists (an earlier `createcachetable`, say).
    command.create_table(schema_editor.connection.alias, settings.DATABASE_CACHE_TABLE, dry_run=False)


def drop(apps, schema_editor):
    table = settings.DATABASE_CACHE_TABLE
    if table in schema_editor.connection.introspection.table_names():
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(table)}")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_cache_periodic_tasks")]

    operations = [migrations.RunPython(create, drop)]
