import datetime
import json

from django.contrib import admin, messages

from .dead_letters import requeue_dead_letters
from .models import Binding, DeadLetter, Message, Queue


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Read-only view of what waits in the django:// broker (rows vanish when acknowledged)."""

    list_display = ("id", "queue", "rank", "visible_at", "deliveries")
    list_filter = ("queue",)
    ordering = ("queue", "rank", "id")
    readonly_fields = ("queue", "rank", "visible_at", "deliveries", "payload")
    exclude = ("lease_token",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _headers(letter: DeadLetter) -> dict:
    try:
        headers = json.loads(letter.payload).get("headers")
    except (ValueError, AttributeError):
        return {}
    return headers if isinstance(headers, dict) else {}


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Messages delivered more than CELERY_BROKER_MAX_DELIVERIES times: requeue them once the cause is
    fixed, or delete them."""

    list_display = ("id", "queue", "task", "task_id", "deliveries", "died")
    list_filter = ("queue",)
    ordering = ("-id",)
    readonly_fields = ("queue", "rank", "deliveries", "died", "task", "task_id", "payload")
    exclude = ("died_at",)
    actions = ["requeue"]

    @admin.display(description="task")
    def task(self, obj):
        return _headers(obj).get("task", "")

    @admin.display(description="task id")
    def task_id(self, obj):
        return _headers(obj).get("id", "")

    @admin.display(description="moved here", ordering="died_at")
    def died(self, obj):
        return datetime.datetime.fromtimestamp(obj.died_at, tz=datetime.UTC)

    @admin.action(description="Requeue selected messages (delivered again from count 0)", permissions=["change"])
    def requeue(self, request, queryset):
        count = requeue_dead_letters(queryset.values_list("pk", flat=True))
        self.message_user(request, f"Requeued {count} message(s).", messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):  # read-only: never written through the form
        return None


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ("name", "expires", "last_seen")
    search_fields = ("name",)


@admin.register(Binding)
class BindingAdmin(admin.ModelAdmin):
    list_display = ("exchange", "queue", "routing_key")
    list_filter = ("exchange",)
    search_fields = ("queue", "exchange")
