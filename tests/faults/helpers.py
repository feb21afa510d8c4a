"""What the fault tests share: waiting on a condition, a stand-in for beat that sends the
sweeps often, and the short leases a restarted worker needs to take over lost work in
seconds rather than the production minutes."""

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from celery import Task

# Leases and grace periods of the workers the fault tests start: work a killed worker held
# counts as lost after this long, and the next sweep queues it again.
SHORT_LEASES = {
    "SWEEP_ENQUEUE_LEASE_SECONDS": "2",
    "WEBHOOK_DELIVERY_LEASE_SECONDS": "3",
    "EVENT_PUBLISH_GRACE_SECONDS": "2",
    "PDF_RENDER_GRACE_SECONDS": "3",
    "QUEUED_WORK_GRACE_SECONDS": "2",
}


def worker_env(media_root: Path, **extra: str) -> dict[str, str]:
    return {**SHORT_LEASES, "MEDIA_ROOT": str(media_root), **extra}


def wait_until(
    condition: Callable[[], bool], *, timeout: float, what: str, every: float = 0.05
) -> float:
    """Seconds it took `condition` to hold; fails after `timeout` seconds."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - began


@contextmanager
def sweeping(tasks: Sequence[Task], every: float = 0.5) -> Iterator[None]:
    """Send the sweeps every `every` seconds, as beat does on its (longer) schedule."""
    done = threading.Event()

    def run() -> None:
        while not done.is_set():
            for task in tasks:
                task.delay()
            done.wait(every)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=10)
