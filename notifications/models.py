"""Every e-mail the back office sends, one row each: the only place that holds its address and body."""

from django.db import models


class Notification(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected"

    class Template(models.TextChoices):
        PLAIN = "", "Plain message"
        CLAIM_DECISION = "claim_decision", "Claim decision"
        DAILY_REPORT = "daily_report", "Daily report"

    idempotency_key = models.CharField(max_length=200, unique=True, help_text="one e-mail per key, ever")
    recipient = models.CharField(max_length=320, help_text="as given (a rejected one may be malformed)")
    subject = models.CharField(max_length=1000)
    body = models.TextField(blank=True, help_text="plain text; a template's text is stored here once sent")
    html_body = models.TextField(blank=True)
    template = models.CharField(max_length=30, choices=Template.choices, blank=True, default=Template.PLAIN)
    attachments = models.JSONField(default=list, blank=True, help_text="[{filename, content, mimetype}] (text)")
    claim = models.ForeignKey(
        "claims.Claim", on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="SMTP transactions tried")
    last_error = models.TextField(blank=True)
    # A sender holds the row while it sends (a conditional UPDATE takes it): two deliveries of the same
    # task never send it twice at once, and a crashed sender's hold runs out.
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="when the queued send is due")
    message_id = models.CharField(max_length=200, blank=True, help_text="the Message-ID header sent")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notification_due")]

    def __str__(self) -> str:
        return f"Notification {self.pk} ({self.status})"
