"""Daily reports over HTTP as JSON: the list (headline figures) and one day with every figure."""

from __future__ import annotations

from datetime import date

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import API_PERMISSIONS, PermissionSchema
from reports.models import DailyReport

HEADLINE = (
    "day", "generated_at", "claims_received", "claims_decided", "approved", "partially_approved", "rejected",
    "submitted_total", "eligible_total", "copay_total", "benefit_total", "avg_decision_seconds",
    "p95_decision_seconds", "bulk_jobs",
)  # fmt: skip


class ReportSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = DailyReport
        fields = HEADLINE


class ReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = DailyReport
        fields = (*HEADLINE, "content")


class ReportsApi(ListAPIView):
    """Newest first, paginated."""

    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = DailyReport
    serializer_class = ReportSummarySerializer
    queryset = DailyReport.objects.defer("content").order_by("-day")


class ReportDetailApi(APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = DailyReport

    @extend_schema(summary="One day's claims report with every figure", responses=ReportSerializer)
    def get(self, request, day: str):
        try:
            report = DailyReport.objects.get(day=date.fromisoformat(day))
        except (ValueError, DailyReport.DoesNotExist):
            raise NotFound(f"No report for {day!r} (YYYY-MM-DD).") from None
        return Response(ReportSerializer(report).data)
