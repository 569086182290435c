from django.apps import AppConfig


class BrokerConfig(AppConfig):
    name = "core.broker"
    label = "broker"
    verbose_name = "Database broker (django://)"
    default_auto_field = "django.db.models.BigAutoField"
