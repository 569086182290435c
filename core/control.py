"""A remote-control command every worker answers: which broker, cache and database it uses, what it consumes.

The health check broadcasts it (`app.control.broadcast("live_mode", reply=True)`) and compares the
answers with its own mode: a worker that decided differently (a split brain) is reported, not guessed.
"""

from celery.worker.control import inspect_command


@inspect_command()
def live_mode(state) -> dict:
    from backend.celery import live_mode as mode

    consumer = getattr(state, "consumer", None)
    task_consumer = getattr(consumer, "task_consumer", None)
    queues = sorted(queue.name for queue in getattr(task_consumer, "queues", ()) or ())
    return {**mode(), "queues": queues}
