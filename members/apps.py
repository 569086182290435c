from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = "Members and benefit plans"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from members import cache

        cache.register()  # the `plans` kind of the reference cache, superseded when a plan changes
