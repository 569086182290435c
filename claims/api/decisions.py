"""Changing a decision over HTTP (issue 13): reverse a decided claim; an assessor decides a pended claim's lines.

Thin views (CONVENTIONS.md): the serializers check the shape, claims/reversals.py and claims/assessment.py do
the work under the family lock, and the answer is the claim as it then stands.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.api.claims import CLAIM_NUMBER, ClaimOutputSerializer
from claims.assessment import claim_assess
from claims.models import Claim, ClaimLine
from claims.reversals import REASON_MAX, VISIBLE, ClaimStateError, claim_reverse
from claims.reversals import NotFound as NoClaim
from claims.selectors import claim_get
from core.api_errors import DataRefused, data_refused, malformed, not_found
from core.api_inputs import StrictCharField, StrictIntegerField
from core.permissions import API_PERMISSIONS, PermissionSchema

# A reason or a note must say something and hold no NUL. One pattern, as the schema carries one per field
# (with two validators drf-spectacular kept only the first, and a note of spaces was schema-valid but refused).
SAYS_SOMETHING = RegexValidator(
    rf"^[^\x00]*{VISIBLE.pattern}[^\x00]*$",
    "Write something, without NUL characters: spaces and control characters alone say nothing.",
)

CLAIM_NUMBER_PARAMETER = OpenApiParameter(
    "claim_number", {"type": "string", "pattern": CLAIM_NUMBER.regex.pattern, "maxLength": 30}, OpenApiParameter.PATH
)


class StrictBooleanField(serializers.BooleanField):
    """true or false only: DRF's BooleanField also takes "yes", 1, "on"..., which the schema does not say."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class ReversalInputSerializer(serializers.Serializer):
    reason = StrictCharField(
        max_length=REASON_MAX,
        validators=[SAYS_SOMETHING],
        help_text="why the decision is reversed (kept with the reversal)",
    )
    readjudicate = StrictBooleanField(
        required=False, default=True, help_text="decide the claim again now (default); false: leave it pending"
    )


class LineDecisionSerializer(serializers.Serializer):
    line_number = StrictIntegerField(min_value=1, max_value=32767)
    decision = serializers.ChoiceField(choices=ClaimLine.Review.choices)
    note = StrictCharField(
        max_length=REASON_MAX, validators=[SAYS_SOMETHING], help_text="the assessor's note, required"
    )


class AssessmentInputSerializer(serializers.Serializer):
    # A ListField, not many=True: its bounds reach the schema as minItems / maxItems.
    lines = serializers.ListField(child=LineDecisionSerializer(), min_length=1, max_length=50)


def _claim(claim_number: str) -> Claim:
    claim = Claim.objects.filter(claim_number=claim_number).first()
    if claim is None:
        raise NotFound(f"No claim {claim_number!r}.")
    return claim


class ClaimReversalApi(APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    required_permissions = {"POST": ["claims.reverse_claim"]}

    @extend_schema(
        summary="Reverse a claim's decision",
        description="The ledger gets reversing entries (it stays append-only), the claim returns to pending and, "
        "unless `readjudicate` is false, is decided again at once. The member is e-mailed only if the outcome "
        "changed.",
        parameters=[CLAIM_NUMBER_PARAMETER],
        request=ReversalInputSerializer,
        responses={
            200: ClaimOutputSerializer,
            400: malformed(),
            404: not_found("No claim with that number."),
            422: data_refused("the claim is not decided (pending or pended): there is nothing to reverse."),
        },
    )
    def post(self, request, claim_number: str):
        serializer = ReversalInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claim = _claim(claim_number)
        try:
            claim_reverse(
                claim_id=claim.id,
                reason=serializer.validated_data["reason"],
                user=request.user,
                readjudicate=serializer.validated_data["readjudicate"],
            )
        except ClaimStateError as error:
            raise DataRefused({"claim": [str(error)]}) from None
        except NoClaim:
            raise NotFound(f"No claim {claim_number!r}.") from None
        return Response(ClaimOutputSerializer(claim_get(claim_number=claim_number)).data)


class ClaimAssessmentApi(APIView):
    permission_classes = API_PERMISSIONS
    schema = PermissionSchema()
    required_permissions = {"POST": ["claims.assess_claim"]}

    @extend_schema(
        summary="An assessor decides a pended claim's lines",
        description="Every pended line needs a decision (approve or reject, with a note); other lines may have "
        "one. The claim is then decided through the same adjudication as any claim: approved lines by the rules "
        "without the review flags, rejected ones ASSESSOR_REJECTED.",
        parameters=[CLAIM_NUMBER_PARAMETER],
        request=AssessmentInputSerializer,
        responses={
            200: ClaimOutputSerializer,
            400: malformed(),
            404: not_found("No claim with that number."),
            422: data_refused(
                "the claim is not pended, a line number is not one of its lines, or a pended line has no decision."
            ),
        },
    )
    def post(self, request, claim_number: str):
        serializer = AssessmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claim = _claim(claim_number)
        ids = dict(claim.lines.values_list("line_number", "id"))
        decisions = serializer.validated_data["lines"]
        unknown = sorted({d["line_number"] for d in decisions} - set(ids))
        if unknown:
            raise DataRefused({"lines": [f"claim {claim_number} has no line {number}" for number in unknown]})
        numbers = [d["line_number"] for d in decisions]
        if len(set(numbers)) < len(numbers):
            raise DataRefused({"lines": ["a line number is given twice"]})
        try:
            claim_assess(
                claim_id=claim.id,
                decisions={ids[d["line_number"]]: (d["decision"], d["note"]) for d in decisions},
                user=request.user,
            )
        except ClaimStateError as error:
            raise DataRefused({"claim": [str(error)]}) from None
        except NoClaim:
            raise NotFound(f"No claim {claim_number!r}.") from None
        return Response(ClaimOutputSerializer(claim_get(claim_number=claim_number)).data)
