"""Notifications in the admin: what went out, what failed and why, and "send again" for failed ones.

This page is where full addresses and bodies may be read (by staff); everywhere else they are masked.
"""

from django.contrib import admin, messages

from notifications.models import Notification
from notifications.services import notifications_resend


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "recipient", "subject", "status", "attempts", "claim", "created_at", "sent_at")
    list_filter = ("status", "template", "created_at")
    search_fields = ("claim__claim_number", "subject", "recipient", "=idempotency_key")
    list_select_related = ("claim",)
    raw_id_fields = ("claim",)
    date_hierarchy = "created_at"
    actions = ("send_again",)
    readonly_fields = (
        "idempotency_key",
        "recipient",
        "subject",
        "body",
        "html_body",
        "template",
        "attachments",
        "claim",
        "status",
        "attempts",
        "last_error",
        "lease_until",
        "next_attempt_at",
        "message_id",
        "created_at",
        "updated_at",
        "sent_at",
    )
    exclude = ("lease_token",)

    def has_add_permission(self, request):
        return False  # e-mails are created by the system (send_notification_email, claim decisions)

    @admin.action(description="Send again (failed notifications)")
    def send_again(self, request, queryset):
        requeued, skipped = notifications_resend(ids=queryset.values_list("id", flat=True))
        self.message_user(request, f"{requeued} notification(s) queued to be sent again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} skipped: only failed notifications are sent again (a sent one already reached its "
                "recipient; a rejected one has invalid input).",
                messages.WARNING,
            )
