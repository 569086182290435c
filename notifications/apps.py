from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core.hygiene import register_cleanup
        from notifications.retention import notifications_retention_apply

        register_cleanup("notifications", notifications_retention_apply)  # personal data past the retention

        from core.health import register_alert_channel, register_check
        from notifications.health import alert_admins, check_notifications

        register_check("notifications", check_notifications)  # failed in the last day, or stuck in the queue
        register_alert_channel(alert_admins)  # health alerts go to ADMINS through the outbox

        from claims.hooks import register_decisions_listener
        from core.metrics.collector import register_section
        from notifications import metrics
        from notifications.services import claim_decision_notifications_create

        register_decisions_listener("notifications", claim_decision_notifications_create)  # decision e-mails
        register_section("notifications", metrics.notification_metrics)  # /metrics: e-mails by status
