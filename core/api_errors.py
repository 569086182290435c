"""One error body for the whole API (issue 10, "The API keeps its contract").

Every refusal is `{"detail": "<one sentence>", "errors": {"<field>": ["<message>", ...]}}`: the shape the batch
endpoint already documented (ClaimBatchRefused). DRF's default gave three shapes for a 400 (`{"field": [...]}`
for a serializer, `["..."]` for a bare ValidationError, `{"detail": "..."}` for malformed JSON), so a client
had to guess. Now:
- 400: the request is malformed: the body is not JSON, or a field or query parameter breaks what the
  schema says. Nested errors keep their place (`{"lines": {"1": {"quantity": [...]}}}`); errors about no
  single field sit under `non_field_errors`, about an unknown query parameter under its name.
- 422 (`DataRefused`): every field is well formed, but the current data refuses the request (a claim number
  already taken, no such member, nothing pending). The schema cannot promise which members exist, so a
  schema-valid request may get 422, never 400.
- 401/403/404/405/406/415/429 keep DRF's `{"detail": "..."}` (ErrorDetail below).
Error messages never carry an e-mail address (one is masked, in case a caller typed one into any field),
and no message echoes a field's value back: a diagnosis or address sent in the wrong place is not repeated.
"""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, ParseError, ValidationError
from rest_framework.settings import api_settings
from rest_framework.views import APIView, exception_handler

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY
EMAIL = re.compile(r"[^\s\"'<>@]+@[^\s\"'<>@]+")

MALFORMED = "The request is malformed: see errors (nothing was stored)."
REFUSED = "The request is well formed but the current data refuses it: see errors (nothing was stored)."
BODY_NOT_READ = "The request body could not be read: send JSON (Content-Type: application/json)."


class DataRefused(APIException):
    """422: well formed, refused by the current data; `errors` as a ValidationError's."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = REFUSED
    default_code = "refused"

    def __init__(self, errors):
        super().__init__()
        self.errors = errors


def api_exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: DRF's handler, then one body shape for 400 and 422."""
    response = exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django answers (a 500, logged), as before
    if isinstance(exc, DataRefused):
        response.data = {"detail": REFUSED, "errors": _scrub(_as_dict(exc.errors))}
    elif isinstance(exc, ParseError):
        # DRF's text ("JSON parse error - Expecting value: line 1 column 1") says where, never what was sent.
        response.data = {"detail": BODY_NOT_READ, "errors": {NON_FIELD: [_scrub(str(exc.detail))]}}
    elif response.status_code == status.HTTP_400_BAD_REQUEST:
        errors = exc.detail if isinstance(exc, ValidationError) else [str(getattr(exc, "detail", exc))]
        response.data = {"detail": MALFORMED, "errors": _scrub(_as_dict(errors))}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": _scrub(response.data["detail"])}
    return response


class ApiNotFound(APIView):
    """The last route under /api/: a URL no other route takes (`/api/claims//`, a member path with a
    three-character dependant code) is the API's JSON 404, not Django's HTML page. Only paths ending in
    '/' are taken, so `/api/claims` still gets APPEND_SLASH's redirect."""

    schema = None  # not an operation

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication first: a stranger still gets 401
        raise NotFound()


def refused(errors) -> dict:
    """The 400 body for a view that answers without raising (the batch endpoint)."""
    return {"detail": MALFORMED, "errors": _scrub(_as_dict(errors))}


def _as_dict(errors) -> dict:
    if isinstance(errors, dict):
        return errors
    if isinstance(errors, list) and errors and all(isinstance(item, dict) for item in errors):
        # A list serializer's errors: one entry per item, {} for the good ones; keyed by index.
        return {str(index): item for index, item in enumerate(errors) if item}
    return {NON_FIELD: errors if isinstance(errors, list) else [errors]}


def _scrub(value):
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, str):
        return EMAIL.sub("***@***", value)
    return value


# --- the schema side (drf-spectacular) --------------------------------------------------------------

ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
REFUSAL = inline_serializer(
    "Refusal",
    {
        "detail": serializers.CharField(),
        "errors": serializers.DictField(
            help_text="field -> messages; nested fields keep their place (lines -> line index -> field); "
            "non_field_errors for the request as a whole; a batch's errors by the claim's index in the list"
        ),
    },
)


def malformed(description: str = "Malformed: the body is not JSON, or a field breaks the schema.") -> OpenApiResponse:
    return OpenApiResponse(REFUSAL, description=description)


def data_refused(description: str) -> OpenApiResponse:
    return OpenApiResponse(REFUSAL, description=f"Well formed, refused by the current data: {description}")


def not_found(description: str) -> OpenApiResponse:
    return OpenApiResponse(ERROR, description=description)
