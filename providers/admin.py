from django.contrib import admin

from core.history_admin import AuditedAdmin

from .models import Provider


@admin.register(Provider)
class ProviderAdmin(AuditedAdmin):  # "History": who changed what, when
    list_display = ("practice_number", "name", "discipline", "status")
    list_filter = ("discipline", "status")
    search_fields = ("practice_number", "name")
    ordering = ("practice_number",)
