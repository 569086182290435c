"""Bulk adjudication over HTTP: start a job (claims.services.bulk_job_start) and follow its progress."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.models import BulkClaimJob
from claims.selectors import bulk_job_duration, bulk_job_get, bulk_job_percent_done
from claims.services import MAX_BULK_IDS, MAX_ID, BulkInputError, bulk_job_failed_claim_ids, bulk_job_start
from core.api_errors import NON_FIELD, DataRefused, data_refused, malformed, not_found
from core.api_inputs import DeclaredQueryParams, StrictIntegerField
from core.permissions import API_PERMISSIONS, PermissionSchema

MAX_LISTED = 1000  # claims left pending listed in one response; the job's error says how many in all


class BulkJobInputSerializer(serializers.Serializer):
    """Either {"claim_ids": [...]} or {"all_pending": true}; the schema says so with oneOf (below)."""

    claim_ids = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_ID), required=False, min_length=1, max_length=MAX_BULK_IDS
    )
    all_pending = serializers.BooleanField(required=False)

    def validate_all_pending(self, value: bool) -> bool:
        # The schema's enum [true]: {"all_pending": false} asks for nothing, so it is malformed.
        if value is not True:
            raise serializers.ValidationError('Only true: {"all_pending": true}.')
        return value

    def to_internal_value(self, data):
        if not isinstance(data, dict) or set(data) not in ({"claim_ids"}, {"all_pending"}):
            raise serializers.ValidationError(
                {NON_FIELD: ['Give either "claim_ids": [1, 2, ...] or "all_pending": true, not both.']}
            )
        if "all_pending" in data and type(data["all_pending"]) is not bool:
            raise serializers.ValidationError({"all_pending": ['Only true: {"all_pending": true}.']})
        return super().to_internal_value(data)


BULK_JOB_INPUT = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "claim_ids": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                    "minItems": 1,
                    "maxItems": MAX_BULK_IDS,
                    "description": "claims that do not exist or are decided already are counted, not refused",
                }
            },
            "required": ["claim_ids"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "all_pending": {"type": "boolean", "enum": [True], "description": "every claim pending now"}
            },
            "required": ["all_pending"],
            "additionalProperties": False,
        },
    ]
}


class BulkJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    requested = serializers.IntegerField(help_text="claim IDs asked for")
    total = serializers.IntegerField(help_text="claims found among them")
    done = serializers.IntegerField(help_text="claims decided by this job so far")
    percent_done = serializers.SerializerMethodField()
    approved = serializers.IntegerField()
    partially_approved = serializers.IntegerField()
    rejected = serializers.IntegerField()
    pended = serializers.IntegerField(help_text="left for an assessor")
    already_decided = serializers.IntegerField()
    not_found = serializers.IntegerField()
    failed = serializers.IntegerField()
    chunks_total = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True, help_text="null until a worker starts the job")
    finished_at = serializers.DateTimeField(allow_null=True, help_text="null while the job runs")
    duration_seconds = serializers.SerializerMethodField()
    resumes = serializers.IntegerField(help_text="times the sweep published its unfinished work again")
    claims_left_pending = serializers.SerializerMethodField(
        help_text=f"claims of chunks that failed for good and are still pending (at most {MAX_LISTED})"
    )
    error = serializers.CharField()

    def get_percent_done(self, job) -> float:
        return bulk_job_percent_done(job)

    def get_claims_left_pending(self, job) -> list[int]:
        if job.status != job.Status.COMPLETED_WITH_ERRORS:
            return []
        return bulk_job_failed_claim_ids(job)[:MAX_LISTED]

    def get_duration_seconds(self, job) -> float | None:
        duration = bulk_job_duration(job)
        return None if duration is None else round(duration.total_seconds(), 3)


class BulkInputSchema(PermissionSchema):
    """The body is a schema (oneOf), which drf-spectacular marks optional: it is required."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body:
            body["required"] = True
        return body


class BulkJobsApi(DeclaredQueryParams, APIView):
    # Adjudicating claims in bulk is a back-office decision: POST needs claims.add_bulkclaimjob.
    permission_classes = API_PERMISSIONS
    schema = BulkInputSchema()
    permission_model = BulkClaimJob

    @extend_schema(
        summary="Start a bulk adjudication job",
        description="Returns at once (202); follow the job at /api/bulk-jobs/{id}/.",
        request={"application/json": BULK_JOB_INPUT},
        responses={
            202: BulkJobSerializer,
            400: malformed(),
            422: data_refused("all_pending, and no claim is pending."),
        },
    )
    def post(self, request):
        serializer = BulkJobInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claim_ids = serializer.validated_data.get("claim_ids")  # None: every pending claim
        try:
            job = bulk_job_start(claim_ids=claim_ids)
        except BulkInputError as error:
            raise DataRefused({"claim_ids" if claim_ids is not None else "all_pending": [str(error)]}) from None
        location = reverse("api:bulk-job-detail", kwargs={"job_id": job.id})
        return Response(BulkJobSerializer(job).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


class BulkJobDetailApi(DeclaredQueryParams, APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = BulkClaimJob

    @extend_schema(
        summary="A bulk job's progress",
        parameters=[OpenApiParameter("job_id", {"type": "integer", "minimum": 1}, OpenApiParameter.PATH)],
        responses={
            200: BulkJobSerializer,
            400: malformed("A query parameter was given (there are none)."),
            404: not_found("No bulk job with that id."),
        },
    )
    def get(self, request, job_id: str):
        # The route takes any segment (backend/api_urls.py): "abc" or "-1" is this JSON 404, not Django's page.
        job = bulk_job_get(job_id=int(job_id)) if job_id.isascii() and job_id.isdigit() else None
        if job is None:
            raise NotFound(f"No bulk job {job_id}.")
        return Response(BulkJobSerializer(job).data)
