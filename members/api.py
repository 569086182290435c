"""Members over HTTP: benefit balances for a benefit year (routes in backend/api_urls.py)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.selectors import member_balances, member_plan_in_year
from core.api_errors import malformed, not_found
from core.api_inputs import DeclaredQueryParams, QuerySerializer
from core.permissions import API_PERMISSIONS, PermissionSchema
from members.models import Member
from members.selectors import member_get

MONEY = {"max_digits": 12, "decimal_places": 2}


class BalancesQuerySerializer(QuerySerializer):
    year = serializers.IntegerField(min_value=1900, max_value=2999, required=False)


class BalanceSerializer(serializers.Serializer):
    """None (null) limits and remainders mean unlimited."""

    benefit_code = serializers.CharField()
    description = serializers.CharField()
    member_limit = serializers.DecimalField(**MONEY, allow_null=True)
    used_by_member = serializers.DecimalField(**MONEY)
    remaining_for_member = serializers.DecimalField(**MONEY, allow_null=True)
    family_limit = serializers.DecimalField(**MONEY, allow_null=True)
    used_by_family = serializers.DecimalField(**MONEY)
    remaining_for_family = serializers.DecimalField(**MONEY, allow_null=True)


class PlanSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    year = serializers.IntegerField()


class MembershipPeriodSerializer(serializers.Serializer):
    """One period of the member's cover (issue 13); valid_to null while it is open."""

    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=Member.Status.choices)
    plan = PlanSerializer()


class MemberBalancesSerializer(serializers.Serializer):
    membership_number = serializers.CharField()
    dependant_code = serializers.CharField()
    plan = PlanSerializer(help_text="today's plan option")
    benefit_year = serializers.IntegerField()
    benefit_year_plan = PlanSerializer(
        help_text="the plan option in force in the benefit year, whose limits the balances show: the one on "
        "the last day of that year the member was covered (the principal's, as a family is on one option); "
        "today's when no period of the member's history falls in that year"
    )
    balances = BalanceSerializer(many=True)
    periods = MembershipPeriodSerializer(many=True, help_text="the history of status and plan option, oldest first")


class MemberBalancesApi(DeclaredQueryParams, APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = Member
    query_params = {"GET": {"year"}}

    @extend_schema(
        summary="A member's benefit balances",
        description="Per benefit category of the plan option in force in that benefit year (benefit_year_plan): "
        "limits, used and remaining, for the member and for the family (the principal and all dependants). "
        "null limits are unlimited.",
        parameters=[
            OpenApiParameter(
                "year",
                {"type": "integer", "minimum": 1900, "maximum": 2999},
                description="benefit year; the current year when absent",
            ),
        ],
        responses={
            200: MemberBalancesSerializer,
            400: malformed("The year is not a whole number from 1900 to 2999, or another query parameter was given."),
            404: not_found("No member with that membership number and dependant code."),
        },
    )
    def get(self, request, membership_number: str, dependant_code: str):
        query = BalancesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        member = member_get(membership_number=membership_number, dependant_code=dependant_code)
        if member is None:
            raise NotFound(f"No member {membership_number}-{dependant_code}.")
        year = query.validated_data.get("year") or timezone.localdate().year
        year_plan = member_plan_in_year(member=member, year=year)
        data = {
            "membership_number": member.membership_number,
            "dependant_code": member.dependant_code,
            "plan": member.plan,
            "benefit_year": year,
            "benefit_year_plan": year_plan,
            "balances": member_balances(member=member, year=year, plan=year_plan),
            "periods": member.periods.select_related("plan").order_by("valid_from"),
        }
        return Response(MemberBalancesSerializer(data).data)
