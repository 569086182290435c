from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = "Claims"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from claims.health import check_bulk_jobs, check_pending_claims
        from core.health import register_check

        register_check("claims", check_pending_claims)  # pending longer than the claim window
        register_check("bulk_jobs", check_bulk_jobs)  # running without progress
