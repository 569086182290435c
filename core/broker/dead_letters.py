"""The dead-letter table of django:// (`broker_dead_letter`): messages delivered more than
CELERY_BROKER_MAX_DELIVERIES times. The transport moves them there; operators requeue or delete them
in the admin; the health check counts them."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, transaction


def dead_letter_count(using: str = DEFAULT_DB_ALIAS) -> int:
    """How many messages wait in the dead-letter table (0 when nothing is poisoned)."""
    from .models import DeadLetter

    return DeadLetter.objects.using(using).count()


def requeue_dead_letters(ids: Iterable[int], using: str = DEFAULT_DB_ALIAS) -> int:
    """Publish these dead letters again as new messages (delivery count 0) and remove them from the
    dead-letter table, in one transaction. Returns how many were requeued."""
    from . import db
    from .models import DeadLetter

    count = 0
    with transaction.atomic(using=using):
        letters = DeadLetter.objects.using(using).select_for_update().filter(pk__in=list(ids)).order_by("pk")
        for letter in letters:
            db.publish(using, letter.queue, letter.rank, letter.payload)  # a new row: a new id, no stale token
            letter.delete()
            count += 1
    return count
