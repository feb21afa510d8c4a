"""Web processes for the fault tests: `manage.py runserver` on ports of their own, on the
test database and the test broker, as several web containers would run behind one host."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.workers import ROOT, TEST_BROKER_URL, test_database_url

# The fault suite's ports: the first free ones from here on.
FIRST_PORT = int(os.environ.get("FAULTS_FIRST_PORT", "8160"))


def _free_ports(count: int) -> list[int]:
    ports = []
    for port in range(FIRST_PORT, FIRST_PORT + 100):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise AssertionError(f"no {count} free ports from {FIRST_PORT}")


@contextmanager
def _server(port: int, log: Path, extra_env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": TEST_BROKER_URL,
        **extra_env,
    }
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)


def _wait_answering(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/health/", timeout=5)
            return
        except (urllib.error.URLError, ConnectionError):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{url} did not start:\n{log.read_text()[-3000:]}"
            time.sleep(0.3)


@contextmanager
def running_web(
    tmp_path: Path, count: int, extra_env: dict[str, str] | None = None
) -> Iterator[list[str]]:
    """`count` web processes started together; their base URLs once all answer."""
    with ExitStack() as stack:
        servers = []
        for port in _free_ports(count):
            log = tmp_path / f"web-{port}.log"
            process = stack.enter_context(_server(port, log, extra_env or {}))
            servers.append((f"http://127.0.0.1:{port}", process, log))
        for url, process, log in servers:
            _wait_answering(url, process, log)
        yield [url for url, _, _ in servers]
