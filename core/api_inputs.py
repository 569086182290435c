"""Input fields and query parameters that accept exactly what the OpenAPI schema says (issue 10).

DRF's fields are lenient where the schema is not: CharField trims blanks, IntegerField takes "5" and 5.0,
DecimalField takes 1e2 and JSON numbers, DateField takes 20260101. A client reading the schema cannot know
that, and a schema-valid value could still be refused (a NUL byte, a comma in a code). These fields refuse
what the schema refuses and take all it allows; their regular expressions are the schema's `pattern`s.

Query parameters: a view lists what it reads per method (`query_params = {"GET": {"status", "page"}}`); any
other is refused with a 400 naming it. `?stauts=pending` silently listing every claim is the surprise a
careful client least wants, and a parameter we ignore today could not be given a meaning tomorrow.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

NO_NUL = RegexValidator(r"^[^\x00]*$", "A NUL character is not allowed.")
# [0-9], not \d: Python's \d also matches other scripts' digits, and these patterns are in the schema.
MONEY_PATTERN = r"^(?:[1-9][0-9]{0,7}(?:\.[0-9]{1,2})?|0\.(?:0[1-9]|[1-9][0-9]?))$"
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# RFC 3339 as the schema's `format: date-time` means it: a time and an offset are required.
DATE_TIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


class StrictCharField(serializers.CharField):
    """A string and only a string (CharField would turn 123 into '123'), kept as sent (no trimming)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        if not kwargs.get("allow_blank"):
            kwargs.setdefault("min_length", 1)  # the schema says minLength 1 where blank is refused
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: not "5", 5.0 or true (the schema says `type: integer`)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "pattern": MONEY_PATTERN, "example": "570.50"})
class MoneyField(serializers.DecimalField):
    """A positive amount in rand and cents as a string ("570.50"), below 100 million.

    The bound keeps the total of a claim's 50 lines inside what Claim.total_claimed holds, so the schema
    alone says which claims fit (a total over the column's size used to be a 400 no schema could foresee).
    """

    PATTERN = re.compile(MONEY_PATTERN)
    default_error_messages = {"money": 'Give an amount above 0 and below 100000000 as a string, e.g. "570.50".'}

    def __init__(self, **kwargs):
        super().__init__(max_digits=10, decimal_places=2, **kwargs)

    def to_internal_value(self, data):
        # match(), as the schema's pattern is searched: "1.00\n" passes both, and Decimal() takes it.
        if not isinstance(data, str) or not self.PATTERN.match(data):
            self.fail("money")
        return Decimal(data)


@extend_schema_field(OpenApiTypes.DATE)
class StrictDateField(serializers.DateField):
    """YYYY-MM-DD only (Python's fromisoformat also takes 20260101 and 2026-W01-1)."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not DATE.fullmatch(value):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


@extend_schema_field(OpenApiTypes.DATETIME)
class StrictDateTimeField(serializers.DateTimeField):
    """RFC 3339 with its offset, representable in UTC (0001-01-01T00:00:00+01:00 is not)."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not DATE_TIME.fullmatch(value):
            self.fail("invalid", format="YYYY-MM-DDThh:mm:ss[.ffffff]+hh:mm (or Z)")
        try:
            parsed = dt.datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
            parsed.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            self.fail("invalid", format="YYYY-MM-DDThh:mm:ss[.ffffff]+hh:mm (or Z), between years 1 and 9999 in UTC")
        return super().to_internal_value(value)


# --- query parameters -------------------------------------------------------------------------------

PAGE = OpenApiParameter(
    "page",
    {"type": "integer", "minimum": 1},
    description="a page of 50 (the `next` and `previous` links carry it); a page past the last is 404",
)


class QuerySerializer(serializers.Serializer):
    """Query parameters: one given empty (`?date=`) is refused unless its field allows blank.

    DRF reads an empty optional query value as absent, so `?year=` meant "this year" while the schema says
    an integer; a client who sends an empty value has made a mistake worth telling them about.
    """

    def to_internal_value(self, data):
        empty = [
            name
            for name, field in self.fields.items()
            if data.get(name) == "" and not getattr(field, "allow_blank", False)
        ]
        if empty:
            raise serializers.ValidationError({name: ["Give a value, or leave the parameter out."] for name in empty})
        return super().to_internal_value(data)


class PageQuerySerializer(QuerySerializer):
    page = serializers.IntegerField(min_value=1, required=False)


class DeclaredQueryParams:
    """A view mixin: query parameters the view does not read for the method are a 400 naming them.

    Checked after authentication and permissions (a stranger still gets 401/403, not a lesson in our
    parameters); `query_params` maps a method to the names it reads.
    """

    query_params: dict[str, set[str]] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        method = request.method.upper()
        if method in ("HEAD", "OPTIONS"):
            method = "GET"
        elif not hasattr(self, method.lower()):
            return  # a method the view does not have: DRF answers 405, whatever the query
        allowed = self.query_params.get(method, set())
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            listed = ", ".join(sorted(allowed)) or "none"
            raise serializers.ValidationError(
                {name[:100]: [f"Not a query parameter of this operation (it takes: {listed})."] for name in unknown}
            )
