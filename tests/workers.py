"""Real Celery workers for integration tests: a subprocess on Redis and the test database.

Only PostgreSQL can be shared with another process (pytest's SQLite test database lives in
memory), so these tests need PostgreSQL and Redis; in CI both are required and a missing
one fails the run instead of skipping.
"""

import atexit
import ctypes
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.db import connection

from config.celery import app as celery_app

TEST_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
ROOT = Path(__file__).resolve().parent.parent


def require_worker_services() -> None:
    problems = []
    if connection.vendor != "postgresql":
        problems.append(f"a real worker needs PostgreSQL, not {connection.vendor}")
    try:
        redis.Redis.from_url(TEST_BROKER_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        problems.append(f"Redis at {TEST_BROKER_URL} is unreachable: {exc}")
    if problems:
        if os.environ.get("CI") == "true":
            pytest.fail("; ".join(problems))
        pytest.skip("; ".join(problems))


def test_database_url() -> str:
    """The test database, as the processes a test starts (workers, web servers) reach it."""
    return _database_url()


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host, port = s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    return f"postgres://{s['USER']}{password}@{host}:{port}/{s['NAME']}"


def worker_queues() -> str:
    """Every queue the app declares, as the `-Q` a worker consumes them with."""
    return ",".join(queue.name for queue in celery_app.conf.task_queues)


def _reset_producer_pool() -> None:
    # The app caches its connection pool; drop the reference so the next publish uses
    # the broker configured now (kombu keeps one pool per broker URL).
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def use_test_broker() -> Iterator[str]:
    """Point this process's Celery publishing at an empty test broker."""
    redis.Redis.from_url(TEST_BROKER_URL).flushdb()
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = TEST_BROKER_URL
    _reset_producer_pool()
    try:
        yield TEST_BROKER_URL
    finally:
        celery_app.conf.broker_url = previous
        _reset_producer_pool()


def broker_backlog() -> dict[str, int]:
    """What the test broker holds now: the messages waiting on each queue (a Redis list
    per queue and priority) and those a worker took but has not acknowledged. A wait that
    times out shows with it whether the message was never sent or lost, still waits for
    a busy worker, or is held by one."""
    client = redis.Redis.from_url(TEST_BROKER_URL, socket_connect_timeout=2)
    held = {
        key.decode(errors="replace"): int(client.llen(key))
        for key in client.scan_iter()
        if client.type(key) == b"list"
    }
    held["unacked"] = int(client.hlen("unacked"))
    return held


# Workers run in sessions of their own (so a signal meant for one does not reach pytest),
# which also shields them from the terminal's Ctrl-C: an interrupted run must still stop
# them, even one whose fixtures never tear down.
_LIVE: set["Worker"] = set()


def _die_with_parent() -> None:
    """In the child before exec: on Linux, take SIGTERM when the test process dies."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@atexit.register
def _stop_live_workers() -> None:
    for worker in list(_LIVE):
        worker.stop()


class Worker:
    def __init__(
        self,
        log_path: Path,
        extra_env: dict[str, str],
        concurrency: int,
        beat: bool = False,
        wait_ready: bool = True,
    ) -> None:
        self.log_path = log_path
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": TEST_BROKER_URL,
            "WEBHOOKS_ALLOW_PRIVATE_URLS": "true",
            "LOG_LEVEL": "INFO",
            **extra_env,
        }
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-l",
                "info",
                "--pool",
                "threads",
                "-c",
                str(concurrency),
                "-Q",
                worker_queues(),
                "-n",
                f"test-{uuid.uuid4().hex[:8]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                # Embedded beat, with a schedule file of its own (not the shared var/ one).
                *(["--beat", "-s", str(log_path.with_suffix(".schedule"))] if beat else []),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        _LIVE.add(self)
        if wait_ready:
            self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker did not start:\n{self.log_path.read_text()[-3000:]}")

    def wait_exit(self, timeout: float) -> int | None:
        """The worker's exit code once it has stopped by itself, or None if it still
        runs after `timeout` seconds."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """Kill the worker at once, as a crash or an OOM kill would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()
        _LIVE.discard(self)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()
        _LIVE.discard(self)


@contextmanager
def running_worker(
    tmp_path: Path,
    *,
    extra_env: dict[str, str] | None = None,
    concurrency: int = 2,
    beat: bool = False,
) -> Iterator[Worker]:
    worker = Worker(
        tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log", extra_env or {}, concurrency, beat
    )
    try:
        yield worker
    finally:
        worker.stop()
