from django.http import JsonResponse

from core.health import run_health_checks


def health(request):
    """200 when healthy, 503 when a component is down (for load balancers and uptime checks).

    Anonymous callers get only the verdict; staff also get each component's details (hosts,
    queue depths), which are nobody else's business. `?workers=1` also pings the workers.
    """
    summary = run_health_checks(ping_workers=request.GET.get("workers") == "1")
    status = 200 if summary["healthy"] else 503
    if not (request.user.is_authenticated and request.user.is_staff):
        summary = {"healthy": summary["healthy"]}
    return JsonResponse(summary, status=status)
