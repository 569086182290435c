"""Writing a provider's status history (issue 13)."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from providers.models import Provider, ProviderStatusPeriod


def provider_today_sync(*, provider: Provider, today: date | None = None) -> None:
    """Provider.status from the status period in force today (active outside every period)."""
    today = today or timezone.localdate()
    periods = ProviderStatusPeriod.objects.filter(provider=provider, valid_from__lte=today)
    current = periods.filter(valid_to__isnull=True).first() or periods.filter(valid_to__gte=today).first()
    status = current.status if current else Provider.Status.ACTIVE
    if ProviderStatusPeriod.objects.filter(provider=provider).exists() and provider.status != status:
        Provider.objects.filter(id=provider.id).update(status=status)
        provider.status = status
