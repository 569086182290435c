"""How a service enqueues a task without importing the task's module.

Tasks import services (a task is a thin adapter around one service, CONVENTIONS.md §3); services never
import tasks, so the two never form a cycle (pyproject.toml [tool.importlinter]). A service that must
enqueue asks the Celery app (the current one: backend.celery's, in every process) for the task by its
registered name and gets the task object itself: `.delay()`, `.delay_on_commit()` and `.apply_async()`
behave exactly as on an imported one (its base class, options and store-first hook included), which
`app.send_task(name)` would not.
"""

from __future__ import annotations

from celery import Task, current_app


def task_named(name: str) -> Task:
    """The registered task `name`. A process that has not imported the tasks modules yet (a web process:
    only a worker imports them at start) imports every installed app's `tasks` module first, as the
    worker does."""
    try:
        return current_app.tasks[name]
    except KeyError:
        current_app.autodiscover_tasks(force=True)
        return current_app.tasks[name]
