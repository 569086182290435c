from django.contrib import admin

from .models import Provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("practice_number", "name", "discipline", "status")
    list_filter = ("discipline", "status")
    search_fields = ("practice_number", "name")
    ordering = ("practice_number",)
