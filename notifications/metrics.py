"""The notifications app's section of /metrics (core/metrics/collector.py), registered from
NotificationsConfig.ready(): e-mails by status, counts only."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily, Metric

from core.metrics.collector import PREFIX, count_by_status
from notifications.models import Notification


def notification_metrics() -> list[Metric]:
    """E-mails (Notification rows) by status: queued, sent, failed, rejected."""
    gauge = GaugeMetricFamily(f"{PREFIX}_notifications", "E-mails by status", labels=["status"])
    counts = count_by_status(Notification)
    for status in Notification.Status.values:
        gauge.add_metric([status], counts.get(status, 0))
    return [gauge]
