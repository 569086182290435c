"""Reference data over HTTP: the active plans with their benefits, and the tariff price list valid on a day.

Both read through core/cache.py (warmed daily at 02:00, superseded when a plan or tariff changes),
so after a warm-up these reads touch no reference table.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from claims import cache as reference_cache
from claims.models import TariffCode
from core.api_errors import malformed
from core.api_inputs import DeclaredQueryParams, QuerySerializer, StrictDateField
from core.permissions import API_PERMISSIONS, PermissionSchema
from members.models import BenefitCode, Plan

MONEY = {"max_digits": 12, "decimal_places": 2}


class DayQuerySerializer(QuerySerializer):
    date = StrictDateField(required=False)


class BenefitSerializer(serializers.Serializer):
    """null limits and caps are unlimited."""

    code = serializers.CharField()
    description = serializers.CharField()
    annual_limit_member = serializers.DecimalField(**MONEY, allow_null=True)
    annual_limit_family = serializers.DecimalField(**MONEY, allow_null=True)
    copay_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    per_event_cap = serializers.DecimalField(**MONEY, allow_null=True)
    requires_preauth = serializers.BooleanField()
    review_threshold = serializers.DecimalField(
        **MONEY, allow_null=True, help_text="a line claiming more waits for an assessor; null = never"
    )


DATE_PARAMETER = OpenApiParameter(
    "date", {"type": "string", "format": "date"}, description="YYYY-MM-DD; today (UTC) when absent"
)
BAD_DATE = malformed("The date is not YYYY-MM-DD, or another query parameter was given.")


class PlanWithBenefitsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    year = serializers.IntegerField()
    effective_from = serializers.DateField()
    effective_to = serializers.DateField()
    benefits = BenefitSerializer(many=True)


class TariffSerializer(serializers.Serializer):
    code = serializers.CharField()
    description = serializers.CharField()
    benefit_code = serializers.CharField()
    unit_price = serializers.DecimalField(**MONEY)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)


BENEFIT_FIELDS = (
    "code",
    "annual_limit_member",
    "annual_limit_family",
    "copay_percent",
    "per_event_cap",
    "requires_preauth",
    "review_threshold",
)


def _day(request):
    query = DayQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data.get("date")


class PlansApi(DeclaredQueryParams, APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = Plan
    query_params = {"GET": {"date"}}

    @extend_schema(
        summary="Plans in effect on a day, with their benefit categories",
        parameters=[DATE_PARAMETER],
        responses={200: PlanWithBenefitsSerializer(many=True), 400: BAD_DATE},
    )
    def get(self, request):
        labels = dict(BenefitCode.choices)
        plans = [
            {
                **plan,
                "benefits": [
                    # A plan cached before review_threshold existed has one value fewer: it reads as None.
                    {
                        **dict.fromkeys(BENEFIT_FIELDS),
                        **dict(zip(BENEFIT_FIELDS, row, strict=False)),
                        "description": labels.get(row[0], row[0]),
                    }
                    for row in plan["benefits"]
                ],
            }
            for plan in reference_cache.active_plans(_day(request))
        ]
        return Response(PlanWithBenefitsSerializer(plans, many=True).data)


class TariffsApi(DeclaredQueryParams, APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = TariffCode
    query_params = {"GET": {"date"}}

    @extend_schema(
        summary="The tariff price list valid on a day",
        parameters=[DATE_PARAMETER],
        responses={200: TariffSerializer(many=True), 400: BAD_DATE},
    )
    def get(self, request):
        return Response(TariffSerializer(reference_cache.tariffs_valid_on(_day(request)), many=True).data)
