"""The providers app's reference data in the platform's cache (core/cache.py): the `providers` kind
(practice number -> status), registered from ProvidersConfig.ready(); a saved or deleted provider supersedes it."""

from __future__ import annotations

from core.cache import read_through, register_kind
from providers.models import Provider


def load_provider_registry() -> dict[str, str]:
    return dict(Provider.objects.values_list("practice_number", "status"))


def provider_registry() -> dict[str, str]:
    return read_through("providers", "registry", load_provider_registry)


def register() -> None:
    register_kind("providers", warm=lambda day: {"registry": load_provider_registry()}, invalidated_by=(Provider,))
