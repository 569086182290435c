"""Bulk adjudication over HTTP: start a job (claims.services.bulk_job_start) and follow its progress."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.models import BulkClaimJob
from claims.selectors import bulk_job_duration, bulk_job_get, bulk_job_percent_done
from claims.services import BulkInputError, bulk_job_failed_claim_ids, bulk_job_start
from core.permissions import API_PERMISSIONS, PermissionSchema

MAX_LISTED = 1000  # claims left pending listed in one response; the job's error says how many in all


class BulkJobInputSerializer(serializers.Serializer):
    claim_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, allow_empty=False)
    all_pending = serializers.BooleanField(required=False, help_text="true: every claim pending now")

    def validate(self, attrs):
        if ("claim_ids" in attrs) == bool(attrs.get("all_pending")):
            raise serializers.ValidationError('Give either "claim_ids": [1, 2, ...] or "all_pending": true.')
        return attrs


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
    already_decided = serializers.IntegerField()
    not_found = serializers.IntegerField()
    failed = serializers.IntegerField()
    chunks_total = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
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


class BulkJobsApi(APIView):
    # Adjudicating claims in bulk is a back-office decision: POST needs claims.add_bulkclaimjob.
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = BulkClaimJob

    @extend_schema(
        summary="Start a bulk adjudication job",
        description="Returns at once (202); follow the job at /api/bulk-jobs/{id}/.",
        request=BulkJobInputSerializer,
        responses={202: BulkJobSerializer},
    )
    def post(self, request):
        serializer = BulkJobInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claim_ids = serializer.validated_data.get("claim_ids")  # None: every pending claim
        try:
            job = bulk_job_start(claim_ids=claim_ids)
        except BulkInputError as error:
            raise ValidationError({"claim_ids" if claim_ids is not None else "all_pending": [str(error)]}) from None
        location = reverse("api:bulk-job-detail", kwargs={"job_id": job.id})
        return Response(BulkJobSerializer(job).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


class BulkJobDetailApi(APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = BulkClaimJob

    @extend_schema(summary="A bulk job's progress", responses=BulkJobSerializer)
    def get(self, request, job_id: int):
        job = bulk_job_get(job_id=job_id)
        if job is None:
            raise NotFound(f"No bulk job {job_id}.")
        return Response(BulkJobSerializer(job).data)
