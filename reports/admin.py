"""The reports back office: the list of daily reports, one report as tables with a 30-day outcome chart, CSV.

A report is computed, never edited: no add, no edit form. "Regenerate" runs the same service as the
06:00 task. The list also shows the dashboard figures, read through the reference cache.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from claims import cache as reference_cache
from reports.chart import outcome_chart
from reports.export import report_csv, report_filename
from reports.models import DailyReport
from reports.selectors import reports_recent
from reports.services import daily_report_generate


@admin.register(DailyReport)
class DailyReportAdmin(admin.ModelAdmin):
    list_display = (
        "day",
        "claims_received",
        "claims_decided",
        "approved",
        "partially_approved",
        "rejected",
        "pended",
        "benefit_total",
        "p95_decision_seconds",
        "bulk_jobs",
        "generated_at",
        "csv_link",
    )
    date_hierarchy = "day"
    actions = ["regenerate"]
    exclude = ("content",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # computed by the service; "Regenerate" replaces a report

    @admin.display(description="CSV")
    def csv_link(self, report):
        return format_html('<a href="{}">download</a>', reverse("admin:reports_dailyreport_csv", args=[report.pk]))

    @admin.action(description="Regenerate selected reports", permissions=["view"])
    def regenerate(self, request, queryset):
        days = list(queryset.values_list("day", flat=True))
        for day in days:
            daily_report_generate(day=day)
        self.message_user(request, f"Regenerated {len(days)} report(s).", messages.SUCCESS)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:report_id>/csv/", view(self.csv_view), name="reports_dailyreport_csv"),
            path("<int:report_id>/report/", view(self.report_view), name="reports_dailyreport_report"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "dashboard": reference_cache.dashboard_figures()}
        return super().changelist_view(request, extra_context=extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self.report_view(request, int(object_id))

    def report_view(self, request, report_id: int):
        report = get_object_or_404(DailyReport, pk=report_id)
        if not self.has_view_permission(request, report):
            return HttpResponse(status=403)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(report),
            "report": report,
            "figures": report.content,
            "chart": outcome_chart(reports_recent(days=30, until=report.day)),
            "csv_url": reverse("admin:reports_dailyreport_csv", args=[report.pk]),
            "json_url": reverse("api:report-detail", args=[report.day.isoformat()]),
        }
        return TemplateResponse(request, "admin/reports/dailyreport/report.html", context)

    def csv_view(self, request, report_id: int):
        report = get_object_or_404(DailyReport, pk=report_id)
        if not self.has_view_permission(request, report):
            return HttpResponse(status=403)
        response = HttpResponse(report_csv(report=report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{report_filename(report=report)}"'
        return response
