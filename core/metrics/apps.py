from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "core.metrics"
    label = "metrics"
    verbose_name = "Metrics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core.metrics import recorder

        recorder.connect()  # counts tasks in worker processes only (the recorder waits for worker_init)
