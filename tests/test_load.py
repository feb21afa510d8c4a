"""The load test's short version (bench/load.py): gunicorn, a Celery worker and beat on
the test database and the test broker, a realistic mix for 25 seconds at a modest rate.
Every request answers without an error, no task fails, and the p99 stays under 500 ms.
The figures are printed (run with -s to see them)."""

import os
import subprocess
import sys

import pytest

from tests.ports import free_port
from tests.workers import ROOT, TEST_BROKER_URL, _database_url, require_worker_services

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_short_load_has_no_errors_and_a_p99_under_500_ms(record_property):
    require_worker_services()
    env = {
        **os.environ,
        # The test database: the runner migrates it (nothing to do) and seeds it.
        "BENCH_DATABASE_URL": _database_url(),
        "BENCH_BROKER_URL": TEST_BROKER_URL,
    }
    run = subprocess.run(
        [sys.executable, "bench/load.py", "--users", "3", "--spawn-rate", "3",
         "--duration", "25", "--customers", "20", "--port", str(free_port()),
         "--drain-timeout", "60"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    print(run.stdout)
    # The runner's one-line verdict ("rate … req/s, p50 … ms, p99 … ms, …"), shown in the
    # figures table tests/faults/conftest.py prints at the end of the run.
    verdict = [line for line in run.stdout.splitlines() if line.startswith("rate ")]
    record_property("fault_figures", {"load": verdict[-1] if verdict else "no verdict line"})
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "PASS" in run.stdout
