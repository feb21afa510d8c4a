"""Queue a Celery task by its registered name.

A service that queues work for later names the task instead of importing it: the task
module imports the service, so an import the other way would close a circle. The task is
taken from the Celery app's registry rather than sent blind with `send_task`, so it is
routed to its queue (CELERY_TASK_ROUTES) and runs inline under CELERY_TASK_ALWAYS_EAGER,
exactly as `.delay()` would; it is sent with `apply_async`, given its argument headers
ready-made when they are plain text (`message_reprs`).
"""

import logging
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any

from celery import current_app
from kombu import Producer
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# Once a send has found the broker unreachable, sends that a sweep makes later anyway skip
# it for this long: each would wait for the broker again, and a request whose commit
# hands its events to several consumers (and queues deliveries) would wait once per send.
BROKER_DOWN_SKIP_SECONDS = 5.0
# By broker URL, the time.monotonic() before which those sends skip that broker.
_broker_down_until: dict[str, float] = {}


class BrokerUnreachable(OperationalError):
    """The broker was not reached, or was found unreachable a moment ago."""


def task_queue(name: str, *, kwargs: dict[str, Any]) -> None:
    """Queue `name` with `kwargs` after one try at the broker (`send_or_fail`):
    BrokerUnreachable when it is down. Every task queued here has a beat sweep that takes
    up what was not queued, so no caller waits on the broker's own retries."""
    if name not in current_app.tasks:
        # A web process registers a task when its module is first imported, and nothing
        # else may have imported it yet.
        import_module(name.rpartition(".")[0])
    task = current_app.tasks[name]
    if task.app.conf.task_always_eager:
        task.apply_async(kwargs=kwargs, **message_reprs(kwargs))  # runs here: no broker
        return
    send_or_fail(
        lambda producer: task.apply_async(
            kwargs=kwargs, retry=False, producer=producer, **message_reprs(kwargs)
        )
    )


def task_queue_or_leave(name: str, *, kwargs: dict[str, Any]) -> bool:
    """`task_queue`, for a caller that has committed its work: a broker that is down is
    logged, not raised, and the task's beat sweep takes the work up. Whether it was queued."""
    try:
        task_queue(name, kwargs=kwargs)
    except Exception:  # any failure to send: the sweep is the fallback either way
        logger.warning("could not queue %s %s; its sweep takes it up", name, kwargs)
        return False
    return True


def send_or_fail(send: Callable[[Producer], object]) -> None:
    """Call `send` with a producer connected to the broker, after one try at connecting;
    BrokerUnreachable if that fails, or failed less than BROKER_DOWN_SKIP_SECONDS ago.

    Left to itself, kombu would try to connect again after 2 s and again 4 s later (6 s
    whatever the connection timeout); work a sweep takes up later need not wait for it."""
    broker = current_app.conf.broker_url
    if time.monotonic() < _broker_down_until.get(broker, 0.0):
        raise BrokerUnreachable("The broker was unreachable a moment ago.")
    with current_app.producer_or_acquire() as producer:
        try:
            producer.connection.ensure_connection(max_retries=0)
        except OperationalError as exc:
            _broker_down_until[broker] = time.monotonic() + BROKER_DOWN_SKIP_SECONDS
            raise BrokerUnreachable(str(exc)) from exc
        send(producer)


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
