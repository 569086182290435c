"""GET /metrics: the Prometheus text format, for a bearer token (METRICS_TOKEN) or a logged-in staff user."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from core.metrics.collector import MedaidCollector

# A registry of our own: the default one adds this process's CPU, memory and GC figures, which would
# differ from one web process to the next and say nothing about the system.
registry = CollectorRegistry(auto_describe=False)
registry.register(MedaidCollector())


def _bearer_token_ok(request) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)


@require_GET
def metrics(request):
    """401 for anyone without the token or a login, 403 for a logged-in user who is not staff."""
    if not _bearer_token_ok(request):
        if not request.user.is_authenticated:
            response = HttpResponse(
                "Authentication required: a bearer token or a staff login.\n", status=401, content_type="text/plain"
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        if not (request.user.is_active and request.user.is_staff):
            return HttpResponse("Staff only.\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
