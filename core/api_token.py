"""POST /api/token/ as the API documents it: core.views.TokenLoginView with bounded, documented input.

A username longer than django-axes' column (255) reached its AccessAttempt insert and was a 500 on
PostgreSQL; Django's own usernames are at most 150 characters, so longer is a 400 before anyone
authenticates. Nothing is trimmed: the schema's lengths are the lengths checked.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer

from core.api_errors import malformed
from core.views import TokenLoginView


class TokenRequestSerializer(AuthTokenSerializer):
    username = serializers.CharField(max_length=150, trim_whitespace=False, write_only=True)
    password = serializers.CharField(
        max_length=1024, trim_whitespace=False, write_only=True, style={"input_type": "password"}
    )


class TokenApi(TokenLoginView):
    serializer_class = TokenRequestSerializer

    @extend_schema(
        operation_id="token_create",
        summary="An API token for a username and password",
        description="Send `Authorization: Token <token>` with every other request. Five wrong passwords "
        "for one username from one address lock that pair out (429) for AXES_COOLOFF_HOURS.",
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            # A wrong password is a 400, as DRF's ObtainAuthToken and OAuth 2's token endpoint
            # (RFC 6749 5.2, invalid_grant) answer it.
            400: malformed("A field is missing, empty or too long, or the username and password do not match."),
            # django-axes answers with a plain sentence (settings.AXES_COOLOFF_MESSAGE), not JSON.
            429: OpenApiResponse(description="Locked out after too many wrong passwords: a plain message."),
        },
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
