from django.contrib.auth.signals import user_logged_in
from django.http import JsonResponse
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

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
