from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Task platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core import lookups  # noqa: F401 - lookups registers field__in_ids

        # The reference cache's kinds are registered by the domain apps (members, providers, claims):
        # core imports no domain app.
