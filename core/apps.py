from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Task platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core import cache, lookups  # noqa: F401 - lookups registers field__in_ids

        cache.connect_invalidation()  # a saved plan, tariff or provider supersedes its cached kind
