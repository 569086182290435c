from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = "Providers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from providers import cache

        cache.register()  # the `providers` kind of the reference cache, superseded when a provider changes
