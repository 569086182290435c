"""E-mail throughput through the worker: `python -m bench.notifications [--emails 5000]`.

On PostgreSQL + Redis (a throwaway database `medaid_bench_notifications`, Redis db 10), with a real
SMTP server on localhost (aiosmtpd, in this process) and one worker of concurrency 2:
- batched: N queued notifications published as batch tasks (NOTIFICATION_BATCH_SIZE per task, one
  SMTP connection per batch), timed from the publish to the last message accepted by the server;
- baseline: `--baseline` e-mails (default 1,000) sent the naive way, one task and one SMTP connection
  per message (the seed's `send_notification_email` task per row), timed the same way;
- for reference, the SMTP part alone in this process: a new connection per message against one
  connection for all.
Every e-mail carries its own key in its subject (this run's random token, the part, its number): the
keys the server received must be exactly the keys sent, each once, and the Message-IDs distinct. The
last line is one JSON object with `emails_per_s`, `baseline_emails_per_s` and `speedup`. Target:
speedup >= 5.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
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


KEY = re.compile(r"\[bench ([0-9a-f]{12}-[a-z]+-[0-9]+)\]")  # the per-message key at the end of a subject


def queued_rows(n: int, run: str, tag: str) -> tuple[list[int], set[str]]:
    """Queue n notifications; each subject ends with its own key `[bench <run>-<tag>-<i>]`: ids and keys."""
    from django.utils import timezone

    from notifications.models import Notification

    now = timezone.now()
    keys = [f"{run}-{tag}-{i}" for i in range(n)]
    rows = [
        Notification(
            idempotency_key=f"bench:{key}",
            recipient=f"member{i}@example.com",
            subject=f"Claim CLM-{i:07d} [bench {key}]",
            body="Your claim has been approved.\n" * 10,
            next_attempt_at=now,
        )
        for i, key in enumerate(keys)
    ]
    Notification.objects.bulk_create(rows, batch_size=2000)
    ids = Notification.objects.filter(idempotency_key__startswith=f"bench:{run}-{tag}-").values_list("id", flat=True)
    return list(ids), set(keys)


def delivery_problems(expected: set[str], subjects: list[str]) -> list[str]:
    """What is wrong with the keys the SMTP server received against those sent: missing, twice, unknown.

    Empty when every expected key arrived exactly once and nothing else did.
    """
    received = Counter(match.group(1) if (match := KEY.search(subject or "")) else None for subject in subjects)
    problems = []
    if missing := expected - received.keys():
        problems.append(f"{len(missing)} never arrived, e.g. {sorted(missing)[:3]}")
    if twice := sorted(key for key, n in received.items() if n > 1 and key is not None):
        problems.append(f"{len(twice)} arrived more than once, e.g. {twice[:3]}")
    if unknown := received.keys() - expected:
        examples = sorted(map(str, unknown))[:3]
        problems.append(f"{sum(received[key] for key in unknown)} not sent by this run (keys {examples})")
    return problems


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

    run = uuid.uuid4().hex[:12]  # in every key of this run: no two runs (nor the two parts of one) share one

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
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backend.celery",
                "worker",
                "--concurrency=2",
                "-Q",
                "default",
                "--loglevel=warning",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-n",
                "bench@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            from backend.celery import app

            deadline = time.monotonic() + 60
            while not app.control.ping(timeout=1):
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise RuntimeError(f"the worker did not start:\n{(Path(tmp) / 'worker.log').read_text()[-3000:]}")

            ids, batched_keys = queued_rows(args.emails, run, "batched")
            started = time.perf_counter()
            notifications_enqueue(ids=ids)
            batched_s = wait_for(server.mailbox, args.emails, 600) - started
            batched_connections = server.mailbox.connections

            ids, baseline_keys = queued_rows(args.baseline, run, "baseline")
            started = time.perf_counter()
            for notification_id in ids:
                send_notification_email.apply_async(kwargs={"notification_id": notification_id})
            baseline_s = wait_for(server.mailbox, args.emails + args.baseline, 600) - started
        finally:
            worker.terminate()
            worker.wait(60)
            log.close()

    # Exactly once, checked on what the server received once the worker has stopped: every message's
    # own key (this run's, never reused), and the Message-ID the sender derives from the row.
    total = args.emails + args.baseline
    sent = Notification.objects.filter(status="sent").count()
    messages = server.mailbox.messages()
    problems = delivery_problems(batched_keys | baseline_keys, [message["Subject"] for message in messages])
    message_ids = {message["Message-ID"] for message in messages}
    if len(message_ids) != len(messages):
        problems.append(f"{len(messages) - len(message_ids)} Message-IDs received more than once")
    if sent != total:
        problems.append(f"{sent} rows marked sent of {total}")
    if problems:
        raise SystemExit("exactly once: MISS: " + "; ".join(problems))
    print(f"exactly once: every one of the {total:,} keys received once, {len(message_ids):,} distinct Message-IDs")
    per_message_smtp, reused_smtp = smtp_only(server.port, 500)
    server.stop()

    emails_per_s, baseline_per_s = args.emails / batched_s, args.baseline / baseline_s
    speedup = emails_per_s / baseline_per_s
    print(
        f"batched: {args.emails:,} e-mails in {batched_s:.2f} s = {emails_per_s:,.0f}/s over "
        f"{batched_connections} SMTP connections (batches of {os.environ.get('NOTIFICATION_BATCH_SIZE', 200)})"
    )
    print(
        f"baseline (one task, one connection per e-mail): {args.baseline:,} in {baseline_s:.2f} s = "
        f"{baseline_per_s:,.0f}/s; speedup {speedup:.1f}x"
    )
    print(
        f"SMTP alone in one process: {per_message_smtp:,.0f}/s with a connection per message, "
        f"{reused_smtp:,.0f}/s over one connection"
    )
    print(f"  {'PASS' if speedup >= 5 else 'MISS'}  speedup >= 5x")
    print("  PASS  every e-mail received exactly once")
    print(
        json.dumps(
            {
                "emails": args.emails,
                "emails_per_s": round(emails_per_s, 1),
                "batched_s": round(batched_s, 2),
                "smtp_connections": batched_connections,
                "baseline_emails": args.baseline,
                "baseline_emails_per_s": round(baseline_per_s, 1),
                "speedup": round(speedup, 1),
                "smtp_only_connection_per_message_per_s": round(per_message_smtp, 1),
                "smtp_only_one_connection_per_s": round(reused_smtp, 1),
                "concurrency": 2,
                "exactly_once": True,
            }
        )
    )


if __name__ == "__main__":
    main()
