"""E-mail throughput through the worker: `python -m bench.notifications [--emails 5000]`.

On PostgreSQL + Redis (a throwaway database `medaid_bench_notifications`, Redis db 10), with a real
SMTP server on localhost (aiosmtpd, in this process) and one worker of concurrency 2:
- batched: N queued notifications published as batch tasks (NOTIFICATION_BATCH_SIZE per task, one
  SMTP connection per batch), timed from the publish to the last message accepted by the server;
- baseline: `--baseline` e-mails (default 1,000) sent the naive way, one task and one SMTP connection
  per message (the seed's `send_notification_email` task per row), timed the same way;
- for reference, the SMTP part alone in this process: a new connection per message against one
  connection for all.
Every e-mail is checked to arrive exactly once. The last line is one JSON object with
`emails_per_s`, `baseline_emails_per_s` and `speedup`. Target: speedup >= 5.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bulk_claims import ROOT, bench_env

DB_NAME = "medaid_bench_notifications"
REDIS = "redis://127.0.0.1:6379/10"  # its own database: flushed at the start of every run


def fresh_database(env: dict[str, str]) -> None:
    import psycopg
    import redis

    with psycopg.connect("postgres://root@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    redis.Redis.from_url(REDIS).flushdb()


def queued_rows(n: int, tag: str) -> list[int]:
    from django.utils import timezone

    from notifications.models import Notification

    now = timezone.now()
    rows = [
        Notification(
            idempotency_key=f"bench:{tag}:{i}", recipient=f"member{i}@example.com", subject=f"Claim CLM-{i:07d}",
            body="Your claim has been approved.\n" * 10, next_attempt_at=now,
        )
        for i in range(n)
    ]  # fmt: skip
    Notification.objects.bulk_create(rows, batch_size=2000)
    return list(Notification.objects.filter(idempotency_key__startswith=f"bench:{tag}:").values_list("id", flat=True))


def wait_for(mailbox, count: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while mailbox.count < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {mailbox.count} of {count} e-mails arrived within {timeout}s")
        time.sleep(0.02)
    return time.perf_counter()


def smtp_only(port: int, n: int) -> tuple[float, float]:
    """E-mails/s from this process: a new SMTP connection per message, and one connection for all."""
    from django.core.mail import EmailMessage, get_connection

    messages = [EmailMessage(f"Subject {i}", "Body\n" * 10, to=[f"member{i}@example.com"]) for i in range(n)]
    started = time.perf_counter()
    for message in messages:
        get_connection().send_messages([message])  # opens and closes a connection each time
    per_message = n / (time.perf_counter() - started)
    started = time.perf_counter()
    with get_connection() as connection:
        connection.send_messages(messages)
    return per_message, n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=5000)
    parser.add_argument("--baseline", type=int, default=1000, help="e-mails for the one-connection-each baseline")
    args = parser.parse_args()

    from notifications.tests.smtp import SmtpServer

    server = SmtpServer().start()
    env = bench_env(db_name=DB_NAME, redis=REDIS, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(server.port))
    fresh_database(env)
    os.environ.update(env)
    import django

    django.setup()
    from notifications.models import Notification
    from notifications.services import notifications_enqueue
    from notifications.tasks import send_notification_email

    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "worker.log", "w")  # noqa: SIM115 - closed below
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "backend.celery", "worker", "--concurrency=2", "-Q", "default",
             "--loglevel=warning", "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", "bench@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            from backend.celery import app

            deadline = time.monotonic() + 60
            while not app.control.ping(timeout=1):
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise RuntimeError(f"the worker did not start:\n{(Path(tmp) / 'worker.log').read_text()[-3000:]}")

            ids = queued_rows(args.emails, "batched")
            started = time.perf_counter()
            notifications_enqueue(ids=ids)
            batched_s = wait_for(server.mailbox, args.emails, 600) - started
            batched_connections = server.mailbox.connections

            ids = queued_rows(args.baseline, "baseline")
            started = time.perf_counter()
            for notification_id in ids:
                send_notification_email.apply_async(kwargs={"notification_id": notification_id})
            baseline_s = wait_for(server.mailbox, args.emails + args.baseline, 600) - started
        finally:
            worker.terminate()
            worker.wait(60)
            log.close()

    total = args.emails + args.baseline
    sent = Notification.objects.filter(status="sent").count()
    subjects = [message["Subject"] for message in server.mailbox.messages()]
    assert server.mailbox.count == total == sent, (server.mailbox.count, total, sent)
    assert len(set(zip(subjects, range(total), strict=False))) == total
    per_message_smtp, reused_smtp = smtp_only(server.port, 500)
    server.stop()

    emails_per_s, baseline_per_s = args.emails / batched_s, args.baseline / baseline_s
    speedup = emails_per_s / baseline_per_s
    print(f"batched: {args.emails:,} e-mails in {batched_s:.2f} s = {emails_per_s:,.0f}/s over "
          f"{batched_connections} SMTP connections (batches of {os.environ.get('NOTIFICATION_BATCH_SIZE', 200)})")
    print(f"baseline (one task, one connection per e-mail): {args.baseline:,} in {baseline_s:.2f} s = "
          f"{baseline_per_s:,.0f}/s; speedup {speedup:.1f}x")
    print(f"SMTP alone in one process: {per_message_smtp:,.0f}/s with a connection per message, "
          f"{reused_smtp:,.0f}/s over one connection")
    print(f"  {'PASS' if speedup >= 5 else 'MISS'}  speedup >= 5x")
    print(json.dumps({
        "emails": args.emails, "emails_per_s": round(emails_per_s, 1), "batched_s": round(batched_s, 2),
        "smtp_connections": batched_connections, "baseline_emails": args.baseline,
        "baseline_emails_per_s": round(baseline_per_s, 1), "speedup": round(speedup, 1),
        "smtp_only_connection_per_message_per_s": round(per_message_smtp, 1),
        "smtp_only_one_connection_per_s": round(reused_smtp, 1), "concurrency": 2,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
