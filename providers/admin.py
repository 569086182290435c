from django.contrib import admin

from core.history_admin import AuditedAdmin

from .models import Provider, ProviderStatusPeriod
from .services import provider_today_sync


class ProviderStatusPeriodInline(admin.TabularInline):
    """Suspensions and the like, dated (issue 13): services before a suspension are paid."""

    model = ProviderStatusPeriod
    extra = 0
    fields = ("valid_from", "valid_to", "status")
    ordering = ("valid_from",)


@admin.register(Provider)
class ProviderAdmin(AuditedAdmin):  # "History": who changed what, when
    list_display = ("practice_number", "name", "discipline", "status")
    list_filter = ("discipline", "status")
    search_fields = ("practice_number", "name")
    ordering = ("practice_number",)
    inlines = [ProviderStatusPeriodInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        provider_today_sync(provider=form.instance)
