"""field__in_ids: the same rows as __in, on every database, for plain and related fields."""

import pytest

from claims.models import Claim
from claims.tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db


def test_in_ids_selects_what_in_selects():
    claims = [ClaimFactory() for _ in range(5)]
    wanted = [claims[0].id, claims[3].id, 10**9]
    assert set(Claim.objects.filter(id__in_ids=wanted)) == set(Claim.objects.filter(id__in=wanted))
    members = [claims[1].member_id, claims[4].member_id]
    assert set(Claim.objects.filter(member_id__in_ids=members)) == {claims[1], claims[4]}
    assert not Claim.objects.filter(id__in_ids=[]).exists()
