from django.http import JsonResponse

from core.health import run_health_checks


def health(request):
    """JSON health summary; 200 when healthy, 503 when any component is down."""
    summary = run_health_checks(ping_workers=request.GET.get("workers") == "1")
    return JsonResponse(summary, status=200 if summary["healthy"] else 503)
