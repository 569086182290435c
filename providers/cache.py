"""The providers app's reference data in the platform's cache (core/cache.py): the `providers` kind
(practice number -> status, and each provider's status periods), registered from ProvidersConfig.ready();
a saved or deleted provider or status period supersedes it."""

from __future__ import annotations

from collections import defaultdict

from core.cache import read_through, register_kind
from providers.models import Provider, ProviderStatusPeriod


def load_provider_registry() -> dict[str, str]:
    return dict(Provider.objects.values_list("practice_number", "status"))


def provider_registry() -> dict[str, str]:
    return read_through("providers", "registry", load_provider_registry)


def load_provider_periods() -> dict[str, list[tuple]]:
    """practice number -> [(valid_from, valid_to, status), ...] in date order, for providers that have periods."""
    periods: dict[str, list[tuple]] = defaultdict(list)
    rows = ProviderStatusPeriod.objects.order_by("provider_id", "valid_from").values_list(
        "provider__practice_number", "valid_from", "valid_to", "status"
    )
    for number, *rest in rows:
        periods[number].append(tuple(rest))
    return dict(periods)


def provider_periods() -> dict[str, list[tuple]]:
    return read_through("providers", "periods", load_provider_periods)


def register() -> None:
    register_kind(
        "providers",
        warm=lambda day: {"registry": load_provider_registry(), "periods": load_provider_periods()},
        invalidated_by=(Provider, ProviderStatusPeriod),
    )
