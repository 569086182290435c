"""The HTTP API under /api/ (included from backend/urls.py); every endpoint needs an authenticated user."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from claims.api.bulk_jobs import BulkJobDetailApi, BulkJobsApi
from claims.api.claims import ClaimBatchApi, ClaimDetailApi, ClaimsApi
from claims.api.decisions import ClaimAssessmentApi, ClaimReversalApi
from claims.api.reference import PlansApi, TariffsApi
from core.api_docs import RedocDocsView, SwaggerDocsView
from core.api_errors import ApiNotFound
from core.api_token import TokenApi
from members.api import MemberBalancesApi
from reports.api import ReportDetailApi, ReportsApi

app_name = "api"

urlpatterns = [
    # POST username + password -> {"token": ...}; throttled with the admin login by django-axes.
    path("token/", TokenApi.as_view(), name="token"),
    path("claims/", ClaimsApi.as_view(), name="claims"),
    path("claims/batch/", ClaimBatchApi.as_view(), name="claims-batch"),  # before the detail: 'batch' is reserved
    path("claims/<str:claim_number>/", ClaimDetailApi.as_view(), name="claim-detail"),
    path("claims/<str:claim_number>/reversal/", ClaimReversalApi.as_view(), name="claim-reversal"),
    path("claims/<str:claim_number>/assessment/", ClaimAssessmentApi.as_view(), name="claim-assessment"),
    path("bulk-jobs/", BulkJobsApi.as_view(), name="bulk-jobs"),
    # Any segment: "abc" or "-1" gets the API's JSON 404 from the view, not Django's HTML page.
    path("bulk-jobs/<str:job_id>/", BulkJobDetailApi.as_view(), name="bulk-job-detail"),
    # 12345-01: the membership number may itself contain '-', the dependant code (1-2 characters) may not.
    re_path(
        r"^members/(?P<membership_number>[^/]+)-(?P<dependant_code>[^-/]{1,2})/balances/$",
        MemberBalancesApi.as_view(),
        name="member-balances",
    ),
    path("plans/", PlansApi.as_view(), name="plans"),
    path("tariffs/", TariffsApi.as_view(), name="tariffs"),
    path("reports/", ReportsApi.as_view(), name="reports"),
    path("reports/<str:day>/", ReportDetailApi.as_view(), name="report-detail"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Served from our own static files (no CDN): they work offline (core/api_docs.py).
    path("docs/", SwaggerDocsView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", RedocDocsView.as_view(url_name="api:schema"), name="redoc"),
    # Last: any other /api/.../ path is a JSON 404 (core/api_errors.py).
    re_path(r"^.*/$", ApiNotFound.as_view(), name="not-found"),
]
