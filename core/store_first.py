"""Tasks whose arguments may be personal: the row is written first and the message carries its id only.

Celery has no notion of "this argument must not travel": whatever a caller passes is serialised into
the broker message, shown by Flower, logged on failure and, with `result_extended`, stored with the
result. So a task whose callers hand it personal data (an e-mail address and body) or a large payload
(a bulk job's claim IDs) declares the only arguments its messages may carry, `message_arguments`
(row ids), and how to turn a caller's arguments into them, `store()`; then every way of calling it
ends in a message of ids:

- `delay()`, `apply_async()`, a signature's `delay()` and a group: `StoreFirstTask.apply_async` stores
  the row in the caller's transaction and publishes `{"notification_id": 7}` when it commits;
- `app.send_task("core.tasks.send_notification_email", kwargs={...})` by name:
  `StoreFirstCelery.send_task` hands the call to the task's `apply_async`;
- the task as a callback, errback or chain/chord member with its raw arguments: refused with
  `PersonalArgumentsRefused` before anything is published (storing a row for a signature that may
  never run would send an e-mail nobody asked for);
- a message from a producer outside this app that still carries raw arguments: the worker stores
  the row, replaces the request's arguments (so the stored result and events show the id), and logs
  a warning naming the task id only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from celery import Celery, Task
from celery.utils import uuid
from django.db import transaction

logger = logging.getLogger(__name__)


class PersonalArgumentsRefused(TypeError):
    """A message would carry a store-first task's raw arguments (e.g. an address in a callback)."""


class StoreFirstTask(Task):
    """Base of a task whose messages carry only `message_arguments`; subclasses implement `store()`."""

    message_arguments: frozenset[str] = frozenset()

    def store(self, args: tuple, kwargs: dict) -> dict:
        """Write the caller's arguments as a row (raising on bad input) and return the message kwargs."""
        raise NotImplementedError

    def carries_ids_only(self, args, kwargs) -> bool:
        """Whether these are already message arguments (ids), e.g. a retry or a stored row's republish."""
        kwargs = kwargs or {}
        return (
            not args
            and bool(kwargs)
            and set(kwargs) <= self.message_arguments
            and all(kwargs[name] is not None for name in kwargs)
        )

    def apply_async(self, args=None, kwargs=None, task_id=None, **options):
        if not self.carries_ids_only(args, kwargs):
            kwargs = self.store(tuple(args or ()), dict(kwargs or {}))
        task_id = task_id or uuid()
        publish = super().apply_async
        # Published when the caller's transaction commits: the worker always finds the row.
        transaction.on_commit(lambda: publish(kwargs=kwargs, task_id=task_id, **options))
        return self.AsyncResult(task_id)

    def __call__(self, *args, **kwargs):
        request = self.request
        if not request.called_directly and not self.carries_ids_only(args, kwargs):
            # A producer outside this app published raw arguments. The broker has seen them already;
            # the result backend, events and our logs need not.
            kwargs, args = self.store(args, kwargs), ()
            request.args, request.kwargs = [], kwargs
            request.argsrepr, request.kwargsrepr = "()", repr(kwargs)
            logger.warning(
                "%s[%s] arrived with raw arguments from a producer outside this app; stored as %s",
                self.name,
                request.id,
                kwargs,
            )
        return super().__call__(*args, **kwargs)


def _signatures(value) -> Iterable[Mapping]:
    """Every signature in a link/link_error/chain/chord option, however nested."""
    if isinstance(value, Mapping):
        if "task" in value:
            yield value
        for key in ("kwargs", "options"):
            inner = value.get(key) or {}
            for nested in ("tasks", "body", "link", "link_error", "chain"):
                if nested in inner:
                    yield from _signatures(inner[nested])
    elif isinstance(value, Iterable) and not isinstance(value, str | bytes):
        for item in value:
            yield from _signatures(item)


class StoreFirstCelery(Celery):
    """The Celery app that routes store-first tasks called by name through their `apply_async`."""

    def send_task(self, name, args=None, kwargs=None, **options):
        task = self.tasks.get(name)
        if isinstance(task, StoreFirstTask) and not task.carries_ids_only(args, kwargs):
            options.pop("result_cls", None)
            options.pop("task_type", None)
            return task.apply_async(args, kwargs, **options)
        self._refuse_raw_signatures(options)
        return super().send_task(name, args, kwargs, **options)

    def _refuse_raw_signatures(self, options: dict) -> None:
        for option in ("link", "link_error", "chain", "chord"):
            for signature in _signatures(options.get(option)):
                task = self.tasks.get(signature.get("task"))
                if isinstance(task, StoreFirstTask) and not task.carries_ids_only(
                    signature.get("args"), signature.get("kwargs")
                ):
                    raise PersonalArgumentsRefused(
                        f"{task.name} cannot ride in another task's message ({option}) with its raw "
                        f"arguments; call it on its own (delay/apply_async store them first)"
                    )


__all__ = ("PersonalArgumentsRefused", "StoreFirstCelery", "StoreFirstTask")
