"""Queue a Celery task by its registered name.

A service that queues work for later names the task instead of importing it: the task
module imports the service, so an import the other way would close a circle. The task is
taken from the Celery app's registry rather than sent blind with `send_task`, so it is
routed to its queue (CELERY_TASK_ROUTES) and runs inline under CELERY_TASK_ALWAYS_EAGER,
exactly as `.delay()` would; it is sent with `apply_async`, given its argument headers
ready-made when they are plain text (`message_reprs`).
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
        task.apply_async(kwargs=kwargs, **message_reprs(kwargs))
    else:
        task.apply_async(kwargs=kwargs, retry=False, **message_reprs(kwargs))


def message_reprs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A message's `argsrepr` and `kwargsrepr` headers (what monitoring shows of its
    arguments), for keyword arguments that are all plain text, such as ids: Celery
    writes them with its `saferepr`, a third of the CPU of a send, and `repr` writes the
    same text for these. Empty otherwise, and Celery writes them itself."""
    if not all(_plain(key) and _plain(value) for key, value in kwargs.items()):
        return {}
    written = repr(kwargs)
    if len(written) > current_app.amqp.kwargsrepr_maxsize:
        return {}  # saferepr shortens it
    return {"argsrepr": "()", "kwargsrepr": written}


def _plain(value: Any) -> bool:
    # Text that `repr` and `saferepr` both write between single quotes, unescaped.
    return type(value) is str and value.isprintable() and "'" not in value and "\\" not in value
