from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core.hygiene import register_cleanup
        from notifications.retention import notifications_retention_apply

        register_cleanup("notifications", notifications_retention_apply)  # personal data past the retention
