from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = "Claims"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from claims import cache, metrics
        from claims.health import check_bulk_jobs, check_pending_claims
        from core.health import register_check
        from core.metrics.collector import register_section

        register_check("claims", check_pending_claims)  # pending longer than the claim window
        register_check("bulk_jobs", check_bulk_jobs)  # running without progress
        cache.register()  # the `tariffs` and `dashboard` kinds of the reference cache
        register_section("bulk_jobs", metrics.bulk_job_metrics)  # /metrics: jobs by status, each job's progress
        register_section("claims", metrics.claim_metrics)  # /metrics: claims by status
