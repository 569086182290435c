from django.contrib.auth.signals import user_logged_in
from django.http import JsonResponse
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

from core.health import PLATFORM_CHECKS, READY_CHECKS, UP, run_health_checks


def health(request):
    """200 when healthy, 503 when a component is down (for load balancers and uptime checks).

    Anonymous callers get only the verdict; staff also get each component's details (hosts,
    queue depths), which are nobody else's business. `?workers=1` also pings the workers.
    """
    # The platform only, as before issue 11: the findings (beat, queues, claims, e-mails) are the
    # health_check task's, stored and alerted on; a failed e-mail must not 503 an uptime probe.
    summary = run_health_checks(ping_workers=request.GET.get("workers") == "1", only=(*PLATFORM_CHECKS, "workers"))
    status = 200 if summary["healthy"] else 503
    if not _is_staff(request):
        summary = {"healthy": summary["healthy"]}
    return JsonResponse(summary, status=status)


def health_live(request):
    """200 while this process answers HTTP: touches nothing (no database, cache or broker), so a process
    supervisor restarts the web only when it is itself stuck, never because a dependency is down."""
    return JsonResponse({"live": True})


def health_ready(request):
    """200 when this process can do its work: database, cache and broker answer, and a worker answers a
    ping (within 1 s); 503 otherwise, for a load balancer. Anonymous callers get which component is ok;
    staff also get latencies and errors."""
    summary = run_health_checks(ping_workers=True, only=READY_CHECKS, store=False)
    ready = summary["healthy"]
    if _is_staff(request):
        body = {"ready": ready, "checks": summary["checks"]}
    else:
        components = {name: check["status"] == UP for name, check in summary["checks"].items()}
        body = {"ready": ready, "components": components}
    return JsonResponse(body, status=200 if ready else 503)


def _is_staff(request) -> bool:
    return request.user.is_authenticated and request.user.is_staff


class TokenLoginView(ObtainAuthToken):
    """POST username + password -> {"token": ...}, throttled by django-axes like the admin login.

    DRF hands its own Request to `authenticate()`, where django-axes marks a lock-out; the middleware
    looks on Django's request, so the lock-out answered 400 instead of 429 with its message. The
    serializer gets Django's request, and a success is a login (`user_logged_in`: the failure count is
    reset and `last_login` set), as an admin login is.
    """

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "request": self.request._request}

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _ = Token.objects.get_or_create(user=user)
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response({"token": token.key})
