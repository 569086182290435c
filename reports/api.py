"""Daily reports over HTTP as JSON: the list (headline figures) and one day with every figure."""

from __future__ import annotations

from datetime import date

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import malformed, not_found
from core.api_inputs import PAGE, DeclaredQueryParams, PageQuerySerializer
from core.permissions import API_PERMISSIONS, PermissionSchema
from reports.models import DailyReport

HEADLINE = (
    "day",
    "generated_at",
    "claims_received",
    "claims_decided",
    "approved",
    "partially_approved",
    "rejected",
    "pended",
    "submitted_total",
    "eligible_total",
    "copay_total",
    "benefit_total",
    "avg_decision_seconds",
    "p95_decision_seconds",
    "bulk_jobs",
)


class ReportSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = DailyReport
        fields = HEADLINE


class ReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = DailyReport
        fields = (*HEADLINE, "content")


class ReportsApi(DeclaredQueryParams, ListAPIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = DailyReport
    serializer_class = ReportSummarySerializer
    queryset = DailyReport.objects.defer("content").order_by("-day")
    query_params = {"GET": {"page"}}

    @extend_schema(
        summary="Daily reports, newest first",
        description="Headline figures, 50 a page. Any other query parameter is a 400.",
        parameters=[PAGE],
        responses={
            200: ReportSummarySerializer(many=True),
            400: malformed("The page is not a whole number of at least 1, or another query parameter was given."),
            404: not_found("The page is past the last page."),
        },
    )
    def get(self, request, *args, **kwargs):
        PageQuerySerializer(data=request.query_params).is_valid(raise_exception=True)
        return super().get(request, *args, **kwargs)


class ReportDetailApi(DeclaredQueryParams, APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = DailyReport

    @extend_schema(
        summary="One day's claims report with every figure",
        parameters=[OpenApiParameter("day", {"type": "string", "format": "date"}, OpenApiParameter.PATH)],
        responses={
            200: ReportSerializer,
            400: malformed("A query parameter was given (there are none)."),
            404: not_found("No report for that day (or the day is not YYYY-MM-DD)."),
        },
    )
    def get(self, request, day: str):
        try:
            report = DailyReport.objects.get(day=date.fromisoformat(day))
        except (ValueError, DailyReport.DoesNotExist):
            raise NotFound(f"No report for {day!r} (YYYY-MM-DD).") from None
        return Response(ReportSerializer(report).data)
