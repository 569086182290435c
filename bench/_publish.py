"""Publish N `bench.noop` tasks on the broker of this process's environment; print one JSON line.

Run by `bench.broker` in a fresh process per broker (settings are read from the environment at
import). Publishing is what an application does: `apply_async` one task at a time through one
producer, each message committed on its own (autocommit on the database brokers).
"""

import json
import sys
import time


def main() -> None:
    count = int(sys.argv[1])
    import django
    from kombu import Exchange, Queue

    from bench._app import BENCH_QUEUE, app, noop  # sets DJANGO_SETTINGS_MODULE if unset

    django.setup()

    with app.connection_for_write() as conn:
        # Declare the queue and its binding before any worker exists (Redis routes by bindings).
        Queue(BENCH_QUEUE, Exchange(BENCH_QUEUE), routing_key=BENCH_QUEUE)(conn.default_channel).declare()
        with app.producer_or_acquire() as producer:
            noop.apply_async((0,), producer=producer)  # warm-up: connection, serialiser, routing
            started = time.perf_counter()
            for i in range(1, count):
                noop.apply_async((i,), producer=producer)
            seconds = time.perf_counter() - started
    print(json.dumps({"published": count, "timed": count - 1, "seconds": seconds}))


if __name__ == "__main__":
    main()
