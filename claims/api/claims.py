"""Claims over HTTP: submit one or a batch, read a claim with its adjudication, list claims.

Thin views (CONVENTIONS.md): a serializer checks the shape of the input, claims/submission.py writes,
claims/selectors.py reads.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.validators import RegexValidator
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.models import Claim
from claims.selectors import claim_get, claims_list, reasons_explained
from claims.submission import ClaimSubmissionError, claim_submit, claims_submit_batch
from core.permissions import API_PERMISSIONS, PermissionSchema

MAX_LINES = 50
MAX_BATCH = 500
MAX_TOTAL = Decimal("9999999999.99")  # what Claim.total_claimed (12 digits, 2 decimals) can hold
ICD10_FIELD_LENGTH = 200  # ClaimLine.icd10_codes, the codes joined by commas
# Claim numbers appear in URLs (/api/claims/<claim_number>/): no slashes, spaces or other specials.
CLAIM_NUMBER = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    "Use letters, digits, '.', '_' and '-' only, starting with a letter or digit.",
)
MEMBER = re.compile(r"^(?P<membership_number>[^\s]+?)(?:-(?P<dependant_code>[0-9A-Za-z]{1,2}))?$")


class StrictCharField(serializers.CharField):
    """A string and only a string (CharField would turn 123 into '123')."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _not_reserved(value: str) -> None:
    if value == "batch":
        raise serializers.ValidationError("'batch' is reserved (/api/claims/batch/).")


class ClaimLineInputSerializer(serializers.Serializer):
    tariff_code = StrictCharField(max_length=20)
    # Well-formedness of each code is the adjudication's call (ICD10_INVALID), not a 400.
    icd10_codes = serializers.ListField(child=StrictCharField(max_length=20, allow_blank=True), allow_empty=True)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    claimed_amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))

    def validate_icd10_codes(self, codes: list[str]) -> list[str]:
        if any("," in code for code in codes):
            raise serializers.ValidationError("One code per list item: a code may not contain a comma.")
        if len(",".join(codes)) > ICD10_FIELD_LENGTH:
            raise serializers.ValidationError(f"At most {ICD10_FIELD_LENGTH} characters of codes per line.")
        return codes


class ClaimInputSerializer(serializers.Serializer):
    claim_number = StrictCharField(max_length=30, validators=[CLAIM_NUMBER, _not_reserved])
    membership_number = StrictCharField(max_length=20)
    dependant_code = StrictCharField(max_length=2, help_text="'00' for the principal member")
    # Stored as given: a practice number the scheme does not know is rejected by the adjudication.
    practice_number = StrictCharField(max_length=20)
    service_date = serializers.DateField()
    received_at = serializers.DateTimeField(required=False, help_text="now when absent")
    lines = ClaimLineInputSerializer(many=True, min_length=1, max_length=MAX_LINES)

    def validate(self, attrs):
        if sum(line["claimed_amount"] for line in attrs["lines"]) > MAX_TOTAL:
            raise serializers.ValidationError({"lines": [f"The claim's total may not exceed {MAX_TOTAL}."]})
        return attrs


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    description = serializers.CharField()


class ClaimLineOutputSerializer(serializers.Serializer):
    line_number = serializers.IntegerField()
    tariff_code = serializers.CharField()
    icd10_codes = serializers.SerializerMethodField()
    quantity = serializers.IntegerField()
    claimed_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    eligible_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    copay_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="the member's portion: the co-payment and what a cap or limit cut"
    )
    benefit_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    benefit_code = serializers.CharField()
    outcome = serializers.CharField()
    reasons = serializers.SerializerMethodField()

    def get_icd10_codes(self, line) -> list[str]:
        return [code for code in line.icd10_codes.split(",") if code]

    @extend_schema_field(ReasonSerializer(many=True))
    def get_reasons(self, line):
        return reasons_explained(line.reason_codes)


class ClaimSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="the id /api/bulk-jobs/ takes")
    claim_number = serializers.CharField()
    membership_number = serializers.CharField(source="member.membership_number")
    dependant_code = serializers.CharField(source="member.dependant_code")
    practice_number = serializers.CharField()
    service_date = serializers.DateField()
    received_at = serializers.DateTimeField()
    status = serializers.CharField()
    reason_code = serializers.CharField()
    total_claimed = serializers.DecimalField(max_digits=12, decimal_places=2)
    total_benefit = serializers.DecimalField(max_digits=12, decimal_places=2)
    decided_at = serializers.DateTimeField()


class ClaimOutputSerializer(ClaimSummarySerializer):
    reason = serializers.SerializerMethodField(help_text="the claim-level rejection, if any")
    total_eligible = serializers.DecimalField(max_digits=12, decimal_places=2)
    total_copay = serializers.DecimalField(max_digits=12, decimal_places=2)
    job_id = serializers.IntegerField(allow_null=True, help_text="the bulk job that decided it")
    lines = ClaimLineOutputSerializer(many=True)

    @extend_schema_field(ReasonSerializer(allow_null=True))
    def get_reason(self, claim):
        explained = reasons_explained(claim.reason_code)
        return explained[0] if explained else None


class ClaimFilterSerializer(serializers.Serializer):
    """Query parameters; an empty one (?status=) means no filter."""

    status = serializers.ChoiceField(choices=Claim.Status.choices, required=False, allow_blank=True)
    member = serializers.RegexField(MEMBER, required=False, allow_blank=True, max_length=23)


def _claim_url(claim: Claim) -> str:
    return reverse("api:claim-detail", kwargs={"claim_number": claim.claim_number})


class ClaimsApi(APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = Claim  # GET view_claim, POST add_claim

    @extend_schema(
        summary="List claims",
        operation_id="claims_list",
        parameters=[
            OpenApiParameter("status", enum=Claim.Status.values),
            OpenApiParameter("member", description="'12345-01' for one member, '12345' for the whole family"),
        ],
        responses=inline_serializer("PaginatedClaimSummaryList", {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": ClaimSummarySerializer(many=True),
        }),
    )  # fmt: skip
    def get(self, request):
        filters = ClaimFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        member = MEMBER.match(filters.validated_data.get("member", ""))
        claims = claims_list(
            status=filters.validated_data.get("status"),
            membership_number=member["membership_number"] if member else None,
            dependant_code=member["dependant_code"] if member else None,
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(claims, request, view=self)
        return paginator.get_paginated_response(ClaimSummarySerializer(page, many=True).data)

    @extend_schema(summary="Submit one claim", request=ClaimInputSerializer, responses={201: ClaimOutputSerializer})
    def post(self, request):
        serializer = ClaimInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            claim = claim_submit(data=serializer.validated_data)
        except ClaimSubmissionError as error:
            raise ValidationError(error.errors) from None
        claim = claim_get(claim_number=claim.claim_number)
        return Response(ClaimOutputSerializer(claim).data, status=status.HTTP_201_CREATED,
                        headers={"Location": _claim_url(claim)})  # fmt: skip


class ClaimBatchApi(APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    required_permissions = {"POST": ["claims.add_claim"]}

    @extend_schema(
        summary="Submit a batch of claims, all or nothing",
        description=f"1 to {MAX_BATCH} claims. When any claim has an error none is stored, and the 400 "
        "lists the errors by the claim's index in the list.",
        request=ClaimInputSerializer(many=True),
        responses={
            201: inline_serializer("ClaimBatchCreated", {"count": serializers.IntegerField(),
                                                         "claims": ClaimSummarySerializer(many=True)}),
            400: inline_serializer("ClaimBatchRefused", {
                "detail": serializers.CharField(),
                "errors": serializers.DictField(help_text="claim index -> field errors; or non_field_errors"),
            }),
        },
    )  # fmt: skip
    def post(self, request):
        serializer = ClaimInputSerializer(data=request.data, many=True, min_length=1, max_length=MAX_BATCH)
        if not serializer.is_valid():
            errors = serializer.errors
            if isinstance(errors, list):  # one entry per item, {} for the good ones
                errors = {str(index): item for index, item in enumerate(errors) if item}
            return _batch_refused(errors)
        try:
            claims = claims_submit_batch(items=serializer.validated_data)
        except ClaimSubmissionError as error:
            return _batch_refused({str(index): item for index, item in error.errors.items()})
        return Response(
            {"count": len(claims), "claims": ClaimSummarySerializer(claims, many=True).data},
            status=status.HTTP_201_CREATED,
        )


def _batch_refused(errors: dict) -> Response:
    return Response({"detail": "No claim was stored: fix the errors below and send the batch again.",
                     "errors": errors}, status=status.HTTP_400_BAD_REQUEST)  # fmt: skip


class ClaimDetailApi(APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = Claim

    @extend_schema(summary="A claim with its lines and their adjudication", responses=ClaimOutputSerializer)
    def get(self, request, claim_number: str):
        claim = claim_get(claim_number=claim_number)
        if claim is None:
            raise NotFound(f"No claim {claim_number!r}.")
        return Response(ClaimOutputSerializer(claim).data)
