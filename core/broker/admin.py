from django.contrib import admin

from .models import Binding, Message, Queue


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Read-only view of what waits in the django:// broker (rows vanish when acknowledged)."""

    list_display = ("id", "queue", "rank", "visible_at")
    list_filter = ("queue",)
    ordering = ("queue", "rank", "id")
    readonly_fields = ("queue", "rank", "visible_at", "payload")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ("name", "expires", "last_seen")
    search_fields = ("name",)


@admin.register(Binding)
class BindingAdmin(admin.ModelAdmin):
    list_display = ("exchange", "queue", "routing_key")
    list_filter = ("exchange",)
    search_fields = ("queue", "exchange")
