"""Issue 10: no address, name, subject, body or diagnosis in the plumbing, whichever way a task is called.

Each seed task is published every way Celery offers (delay, apply_async, a signature, send_task by
name) with a member whose name, address and diagnosis are recognisable; the e-mail task with that
member's address, subject and body. Then the broker's stored messages (decoded), every message body
and header published by this process and by the worker, the stored results (django-db rows or Redis
keys) and the worker log are searched for them. The e-mails that went out are searched too, to show
the data really was in play (so the search can fail).
"""

from __future__ import annotations

import base64
import json

import pytest
from celery.signals import before_task_publish
from django.conf import settings

from backend.celery import app
from claims.demo import demo_data_seed
from claims.models import Claim, ClaimLine
from conftest import broker_kind, wait_until
from core.store_first import PersonalArgumentsRefused
from core.tasks import (
    cache_warmup,
    cleanup_expired_cache,
    generate_daily_reports,
    health_check,
    process_bulk_claims,
    send_notification_email,
)
from members.models import Member
from notifications.models import Notification

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FIRST, LAST = "Nomvuzo", "Privacyprobe"
ADDRESS = "nomvuzo.privacyprobe@example.org"
SUBJECT, BODY = "Privacyprobe subject line", "Privacyprobe message body, diagnosis Q87.4"
DIAGNOSIS = "Q87.4"
SECRETS = (FIRST, LAST, ADDRESS, "Privacyprobe", DIAGNOSIS)


@pytest.fixture
def published():
    """repr of every message body and header set this process publishes."""
    seen: list[str] = []

    def keep(body=None, headers=None, **kwargs):
        seen.append(f"{body!r} {headers!r}")

    before_task_publish.connect(keep, weak=False)
    yield seen
    before_task_publish.disconnect(keep)


def _decoded(raw: str | bytes) -> str:
    """A stored kombu message with its body decoded (both transports keep the body base64-encoded)."""
    message = json.loads(raw)
    body = message.get("body", "")
    if message.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body).decode("utf-8", "replace")
    return f"{body} {message.get('headers')!r} {message.get('properties')!r}"


def broker_contents() -> str:
    """Every message the broker holds now, decoded."""
    if broker_kind() == "django":
        from core.broker.models import Message

        return "\n".join(_decoded(payload) for payload in Message.objects.values_list("payload", flat=True))
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    found = []
    for queue in settings.TASK_QUEUE_NAMES:
        for key in client.scan_iter(match=f"{queue}*"):
            if client.type(key) == b"list":
                found.extend(_decoded(item) for item in client.lrange(key, 0, -1))
    return "\n".join(found)


def stored_results() -> str:
    """Every stored task result: arguments, result and traceback, as any results client reads them."""
    if settings.CELERY_RESULT_BACKEND.startswith("django-db"):
        from django_celery_results.models import TaskResult

        rows = TaskResult.objects.values_list("task_name", "task_args", "task_kwargs", "result", "traceback")
        return "\n".join(" ".join(str(value) for value in row) for row in rows)
    backend = app.backend
    keys = list(backend.client.scan_iter(match=f"{backend.task_keyprefix.decode()}*"))
    return "\n".join(repr(backend.client.get(key)) for key in keys)


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _recognisable_member() -> list[int]:
    """The principal of the family with most pending claims becomes recognisable; returns its family's claims."""
    principal = Member.objects.filter(principal__isnull=True).order_by("id").first()
    Member.objects.filter(id=principal.id).update(first_name=FIRST, last_name=LAST, email=ADDRESS)
    family = Member.objects.filter(id=principal.id) | Member.objects.filter(principal=principal)
    claim_ids = list(Claim.objects.filter(member__in=family).values_list("id", flat=True))
    ClaimLine.objects.filter(claim_id__in=claim_ids).update(icd10_codes=DIAGNOSIS)
    return claim_ids


def test_each_seed_task_every_way_it_is_called_leaves_no_personal_data(start_worker, tmp_path, published):
    demo_data_seed(members=12, claims=40, seed=7)
    family_claims = _recognisable_member()
    assert family_claims, "the recognisable family must have claims, or the bulk job proves nothing"
    others = list(Claim.objects.exclude(id__in=family_claims).values_list("id", flat=True)[:10])

    email = {"recipient_email": ADDRESS, "subject": SUBJECT, "message": BODY}
    results = [
        send_notification_email.delay(ADDRESS, SUBJECT, BODY),
        send_notification_email.delay(**{**email, "subject": f"{SUBJECT} 2"}),
        send_notification_email.apply_async(kwargs={**email, "subject": f"{SUBJECT} 3"}),
        send_notification_email.s(**{**email, "subject": f"{SUBJECT} 4"}).delay(),
        app.send_task("core.tasks.send_notification_email", kwargs={**email, "subject": f"{SUBJECT} 5"}),
        app.send_task("core.tasks.send_notification_email", args=[ADDRESS, f"{SUBJECT} 6", BODY]),
        process_bulk_claims.delay(family_claims),
        process_bulk_claims.apply_async(args=[others[:5]]),
        app.send_task("core.tasks.process_bulk_claims", args=[others[5:]]),
    ]
    for task in (generate_daily_reports, health_check, cache_warmup, cleanup_expired_cache):
        results += [task.delay(), task.apply_async(), task.s().delay(), app.send_task(task.name)]
    # Riding in another task's message (a callback, a chain) it would travel raw: refused, nothing sent.
    before = len(published)
    with pytest.raises(PersonalArgumentsRefused):
        health_check.apply_async(link=send_notification_email.s(**email))
    with pytest.raises(PersonalArgumentsRefused):
        (health_check.s() | send_notification_email.si(**email)).delay()
    assert len(published) == before

    # Six e-mails stored as rows, each published as its id; what the broker holds before any worker runs.
    assert Notification.objects.filter(recipient=ADDRESS).count() == 6
    waiting = broker_contents()
    assert "notification_id" in waiting and "job_id" in waiting, "the broker search must see the messages"
    assert leaks(waiting) == []
    assert len(published) == len(results) and leaks("\n".join(published)) == []

    worker_published = tmp_path / "worker-published.log"
    worker = start_worker("privacy", concurrency=2, env={"TEST_PUBLISH_LOG": str(worker_published)})
    for result in results:
        result.get(timeout=90, propagate=False)
    wait_until(
        lambda: not Notification.objects.exclude(status__in=("sent", "failed", "rejected")).exists(),
        60,
        "every e-mail (the six and the claim decisions) sent",
    )
    assert Notification.objects.filter(recipient=ADDRESS, status="sent").count() >= 7  # six + a decision

    sent_mail = "\n".join(path.read_text(errors="replace") for path in (tmp_path / "emails").iterdir())
    assert ADDRESS in sent_mail and BODY in sent_mail, "the data was in play: it reached the member"
    assert worker_published.exists(), "the worker published chunk and e-mail tasks of its own"
    assert leaks(worker_published.read_text()) == []
    assert leaks(stored_results()) == []
    assert leaks(worker.log) == []
    assert leaks(broker_contents()) == []


def test_a_raw_message_from_another_producer_is_stored_and_its_result_shows_the_id_only(start_worker):
    """A producer outside this app (no store-first) puts the address in the message; the worker keeps
    it out of the stored result and its log."""
    worker = start_worker("foreign")
    with app.connection_for_write() as connection:
        task_id = "foreign-producer-0001"
        # What a bare Celery client would publish: Celery's own send_task, ours bypassed.
        super(type(app), app).send_task(
            "core.tasks.send_notification_email",
            kwargs={"recipient_email": ADDRESS, "subject": SUBJECT, "message": BODY},
            task_id=task_id,
            connection=connection,
        )
    summary = app.AsyncResult(task_id).get(timeout=60)
    row = Notification.objects.get(recipient=ADDRESS)
    assert summary["notification_id"] == row.id and summary["recipient"] == "n***@example.org"
    assert leaks(stored_results()) == []
    assert leaks(worker.log) == [] and "from a producer outside this app" in worker.log
