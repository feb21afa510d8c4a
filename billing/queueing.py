"""Queue a Celery task by its registered name.

A service that queues work for later names the task instead of importing it: the task
module imports the service, so an import the other way would close a circle. The task is
taken from the Celery app's registry rather than sent blind with `send_task`, so it is
routed to its queue (CELERY_TASK_ROUTES) and runs inline under CELERY_TASK_ALWAYS_EAGER,
exactly as `.delay()` would.
"""

from importlib import import_module
from typing import Any

from celery import current_app


def task_queue(name: str, *, kwargs: dict[str, Any], retry: bool = True) -> None:
    """Queue `name` with `kwargs`. `retry=False` fails at once when the broker is down,
    for callers that leave the work to a beat sweep instead of waiting."""
    if name not in current_app.tasks:
        # A web process registers a task when its module is first imported, and nothing
        # else may have imported it yet.
        import_module(name.rpartition(".")[0])
    task = current_app.tasks[name]
    if retry:
        task.delay(**kwargs)
    else:
        task.apply_async(kwargs=kwargs, retry=False)
