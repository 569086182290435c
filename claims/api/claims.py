"""Claims over HTTP: submit one or a batch, read a claim with its adjudication, list claims.

Thin views (CONVENTIONS.md): a serializer checks the shape of the input, claims/submission.py writes,
claims/selectors.py reads.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.validators import RegexValidator
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.models import Claim
from claims.selectors import claim_get, claims_list, reasons_explained
from claims.submission import ClaimSubmissionError, claim_submit, claims_submit_batch
from core.api_errors import DataRefused, data_refused, malformed, not_found, refused
from core.api_inputs import (
    NO_NUL,
    PAGE,
    DeclaredQueryParams,
    MoneyField,
    QuerySerializer,
    StrictCharField,
    StrictDateField,
    StrictDateTimeField,
    StrictIntegerField,
)
from core.permissions import API_PERMISSIONS, PermissionSchema

MAX_LINES = 50
MAX_BATCH = 500
MAX_TOTAL = Decimal("9999999999.99")  # what Claim.total_claimed (12 digits, 2 decimals) can hold
ICD10_FIELD_LENGTH = 200  # ClaimLine.icd10_codes, the codes joined by commas
# At most 9 codes of at most 20 characters: joined by commas they fit ICD10_FIELD_LENGTH (9 * 21 - 1 = 188),
# so the schema alone says which lists fit.
MAX_CODES, MAX_CODE_LENGTH = 9, 20
# Claim numbers appear in URLs (/api/claims/<claim_number>/): no slashes, spaces or other specials, and not
# 'batch' (/api/claims/batch/ is the batch endpoint). [0-9], not \d: this is the schema's pattern too.
CLAIM_NUMBER = RegexValidator(
    r"^(?!batch$)[A-Za-z0-9][A-Za-z0-9._-]*$",
    "Use letters, digits, '.', '_' and '-' only, starting with a letter or digit; 'batch' is reserved.",
)
# No space or control character; spelled out, not \S: Python counts \x1c-\x1f as whitespace and a schema
# reader's (ECMA) regex does not, so a value the schema allowed was refused.
NO_BLANKS = r"^[^\x00-\x20\x7f]*$"
MEMBER = re.compile(r"^(?P<membership_number>[^\x00-\x20\x7f]+?)(?:-(?P<dependant_code>[0-9A-Za-z]{1,2}))?$")
STATUS_FILTER = ["", *Claim.Status.values]  # '' (?status=) means no filter


def _text(max_length: int, **kwargs) -> StrictCharField:
    return StrictCharField(max_length=max_length, validators=[NO_NUL], **kwargs)


class ClaimLineInputSerializer(serializers.Serializer):
    tariff_code = _text(20)
    # Well-formedness of each code is the adjudication's call (ICD10_INVALID), not a 400.
    icd10_codes = serializers.ListField(
        child=StrictCharField(
            max_length=MAX_CODE_LENGTH,
            allow_blank=True,
            validators=[RegexValidator(r"^[^,\x00]*$", "One code per list item: no comma (and no NUL).")],
        ),
        allow_empty=True,
        max_length=MAX_CODES,
    )
    quantity = StrictIntegerField(min_value=1, max_value=10_000)
    claimed_amount = MoneyField()

    def validate_icd10_codes(self, codes: list[str]) -> list[str]:
        if len(",".join(codes)) > ICD10_FIELD_LENGTH:  # cannot happen within MAX_CODES x MAX_CODE_LENGTH
            raise serializers.ValidationError(f"At most {ICD10_FIELD_LENGTH} characters of codes per line.")
        return codes


class ClaimInputSerializer(serializers.Serializer):
    claim_number = StrictCharField(max_length=30, validators=[CLAIM_NUMBER])
    membership_number = _text(20)
    dependant_code = _text(2, help_text="'00' for the principal member")
    # Stored as given: a practice number the scheme does not know is rejected by the adjudication.
    practice_number = _text(20)
    service_date = StrictDateField()
    received_at = StrictDateTimeField(required=False, help_text="now when absent")
    lines = serializers.ListField(child=ClaimLineInputSerializer(), min_length=1, max_length=MAX_LINES)

    def validate(self, attrs):
        # Within MAX_LINES lines of MoneyField's bound this cannot happen; a caller of the service may differ.
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
    outcome = serializers.CharField(help_text="pended: waiting for an assessor's decision")
    reasons = serializers.SerializerMethodField()
    review = serializers.CharField(help_text="an assessor's decision on the line: approve, reject or empty")
    review_note = serializers.CharField(help_text="the assessor's note")

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
    decided_at = serializers.DateTimeField(allow_null=True, help_text="null while the claim is pending")


class ClaimOutputSerializer(ClaimSummarySerializer):
    reason = serializers.SerializerMethodField(help_text="the claim-level rejection, if any")
    total_eligible = serializers.DecimalField(max_digits=12, decimal_places=2)
    total_copay = serializers.DecimalField(max_digits=12, decimal_places=2)
    job_id = serializers.IntegerField(allow_null=True, help_text="the bulk job that decided it")
    decision_round = serializers.IntegerField(help_text="times the claim's decision was reversed")
    lines = ClaimLineOutputSerializer(many=True)

    @extend_schema_field(ReasonSerializer(allow_null=True))
    def get_reason(self, claim):
        explained = reasons_explained(claim.reason_code)
        return explained[0] if explained else None


class ClaimFilterSerializer(QuerySerializer):
    """Query parameters; an empty one (?status=) means no filter."""

    status = serializers.ChoiceField(
        choices=Claim.Status.choices,
        required=False,
        allow_blank=True,
        error_messages={"invalid_choice": f"Use one of: {', '.join(Claim.Status.values)} (or nothing)."},
    )
    # Any text without a space or control character matches MEMBER; the schema's pattern is the same.
    member = serializers.RegexField(NO_BLANKS, required=False, allow_blank=True, max_length=23)
    page = serializers.IntegerField(min_value=1, required=False)


def _claim_url(claim: Claim) -> str:
    return reverse("api:claim-detail", kwargs={"claim_number": claim.claim_number})


class ClaimsApi(DeclaredQueryParams, APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = Claim  # GET view_claim, POST add_claim
    query_params = {"GET": {"status", "member", "page"}}

    @extend_schema(
        summary="List claims",
        description="Newest first, 50 a page. Any other query parameter is a 400.",
        operation_id="claims_list",
        parameters=[
            OpenApiParameter("status", enum=STATUS_FILTER, description="empty: every status"),
            OpenApiParameter(
                "member",
                {"type": "string", "pattern": NO_BLANKS, "maxLength": 23},
                description="'12345-01' for one member, '12345' for the whole family; empty: every member",
            ),
            PAGE,
        ],
        responses={
            200: inline_serializer(
                "PaginatedClaimSummaryList",
                {
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": ClaimSummarySerializer(many=True),
                },
            ),
            400: malformed("A query parameter is not one the schema lists, or has a value it does not allow."),
            404: not_found("The page is past the last page."),
        },
    )
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

    @extend_schema(
        summary="Submit one claim",
        request=ClaimInputSerializer,
        responses={
            201: ClaimOutputSerializer,
            400: malformed(),
            422: data_refused("the claim number is taken, or there is no such member."),
        },
    )
    def post(self, request):
        serializer = ClaimInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            claim = claim_submit(data=serializer.validated_data)
        except ClaimSubmissionError as error:
            raise DataRefused(error.errors) from None
        claim = claim_get(claim_number=claim.claim_number)
        return Response(
            ClaimOutputSerializer(claim).data, status=status.HTTP_201_CREATED, headers={"Location": _claim_url(claim)}
        )


class BatchSchema(PermissionSchema):
    """The batch body is given as a schema (a list serializer would lose minItems/maxItems), which
    drf-spectacular marks optional: a batch is required."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body:
            body["required"] = True
        return body


class ClaimBatchApi(DeclaredQueryParams, APIView):
    permission_classes = API_PERMISSIONS
    schema = BatchSchema()
    required_permissions = {"POST": ["claims.add_claim"]}

    @extend_schema(
        summary="Submit a batch of claims, all or nothing",
        description=f"1 to {MAX_BATCH} claims. When any claim has an error none is stored, and the 400 or 422 "
        "lists the errors by the claim's index in the list.",
        # ClaimInput is the component POST /api/claims/ registers; a list serializer would lose the bounds.
        request={
            "application/json": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ClaimInput"},
                "minItems": 1,
                "maxItems": MAX_BATCH,
            }
        },
        responses={
            201: inline_serializer(
                "ClaimBatchCreated", {"count": serializers.IntegerField(), "claims": ClaimSummarySerializer(many=True)}
            ),
            400: malformed(),
            422: data_refused("a claim number is taken or given twice, or a member does not exist."),
        },
    )
    def post(self, request):
        serializer = ClaimInputSerializer(data=request.data, many=True, min_length=1, max_length=MAX_BATCH)
        if not serializer.is_valid():
            return Response(refused(serializer.errors), status=status.HTTP_400_BAD_REQUEST)
        try:
            claims = claims_submit_batch(items=serializer.validated_data)
        except ClaimSubmissionError as error:
            raise DataRefused({str(index): item for index, item in error.errors.items()}) from None
        return Response(
            {"count": len(claims), "claims": ClaimSummarySerializer(claims, many=True).data},
            status=status.HTTP_201_CREATED,
        )


class ClaimDetailApi(DeclaredQueryParams, APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    permission_model = Claim

    @extend_schema(
        summary="A claim with its lines and their adjudication",
        parameters=[
            OpenApiParameter(
                "claim_number",
                {"type": "string", "pattern": CLAIM_NUMBER.regex.pattern, "maxLength": 30},
                OpenApiParameter.PATH,
            )
        ],
        responses={
            200: ClaimOutputSerializer,
            400: malformed("A query parameter was given (there are none)."),
            404: not_found("No claim with that number."),
        },
    )
    def get(self, request, claim_number: str):
        claim = claim_get(claim_number=claim_number)
        if claim is None:
            raise NotFound(f"No claim {claim_number!r}.")
        return Response(ClaimOutputSerializer(claim).data)
