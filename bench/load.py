"""A bounded load test of the production shape, on loopback only.

    python bench/load.py [--users 10] [--spawn-rate 5] [--duration 60] [--web-workers 3]

Starts gunicorn (several workers), a Celery worker consuming every queue and beat, on
PostgreSQL (BENCH_DATABASE_URL, default a `bench_load` database on 127.0.0.1, created and
migrated if missing) and Redis (BENCH_BROKER_URL, default redis://127.0.0.1:6379/13, the
broker and the cache). Seeds a workspace, a token,
customers, products, a meter, finalized invoices and a webhook endpoint on a local
receiver, then runs `bench/load/locustfile.py` headless: reads, invoice create + finalize,
payments, usage events, new customers. Each user runs about `--user-rate` tasks a second.

Prints the rate, p50/p99 and errors per endpoint, the worker's failed tasks and the
backlog (`manage.py monitor`) when the load stops. Exits 1 when any request or task failed
or the p99 of all requests is `--max-p99` ms or more. Logs go to var/load/.
"""

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.environment import ROOT, bench_environment, ensure_database

BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
DATABASE_URL = bench_environment(
    "bench_load",
    CELERY_BROKER_URL=BROKER_URL,
    REDIS_URL=BROKER_URL,
    # One token drives every simulated client: the per-token limit would answer 429s.
    API_THROTTLE_RATE="100000000/min",
    WEBHOOKS_ALLOW_PRIVATE_URLS="true",
)
LOG_DIR = ROOT / "var" / "load"
LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"
# What a worker logs when a task fails (celery.app.trace) or the worker itself errs.
TASK_FAILURE_MARKERS = (" ERROR/", " CRITICAL/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--duration", type=int, default=60, help="seconds")
    parser.add_argument("--user-rate", type=float, default=1.0, help="tasks a second per user")
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--port", type=int, default=8180)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--max-p99", type=float, default=500, help="milliseconds")
    parser.add_argument("--drain-timeout", type=int, default=120, help="seconds")
    args = parser.parse_args()

    # The broker is not emptied: a message an earlier run left is work its database still
    # holds a lease for, and dropping it would leave that work waiting out the lease.
    ensure_database(DATABASE_URL)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    workspace = _workspace()
    print(
        f"load: {args.users} users at {args.user_rate}/s each, spawn {args.spawn_rate}/s, "
        f"{args.duration} s; gunicorn -w {args.web_workers}, worker -c "
        f"{args.worker_concurrency}, beat; {os.cpu_count()} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    with ExitStack() as stack:
        from tests.receiver import running_receiver

        receiver = stack.enter_context(running_receiver())
        for name, command in _processes(args).items():
            stack.enter_context(_running(name, command))
        base = f"http://127.0.0.1:{args.port}"
        _wait_until_healthy(base)
        seed = _seed(base, workspace, receiver.url, args.customers)
        seed_path = LOG_DIR / "seed.json"
        seed_path.write_text(json.dumps(seed))
        stats_prefix = LOG_DIR / "stats"
        _run_locust(args, base, seed_path, stats_prefix)
        load_average = os.getloadavg()
        rows = _read_stats(stats_prefix)
        failures = _read_failures(stats_prefix)
        drained_after, backlog = _drain(args.drain_timeout)
    task_failures = _task_failures(LOG_DIR / "worker.log") + _task_failures(LOG_DIR / "beat.log")
    ok = _report(rows, failures, task_failures, backlog, args.max_p99, load_average)
    if drained_after is None:
        print(f"the worker had not caught up {args.drain_timeout} s after the load stopped")
    else:
        print(f"the worker caught up {drained_after:.0f} s after the load stopped")
    sys.exit(0 if ok else 1)


def _workspace() -> dict:
    """A workspace with an issuer the sandbox tax agency accepts, and its token."""
    out = subprocess.run(
        [sys.executable, "manage.py", "create_workspace", "--name", "Load", "--country", "CL",
         "--email", "load@example.com", "--tax-id", "76086428-5",
         "--legal-name", "Carga Servicios SpA", "--activity-description", "Desarrollo de software",
         "--activity-code", "620200", "--address", "Av. Providencia 1234", "--comuna", "13123",
         "--city", "Santiago", "--sii-office", "S.I.I. - Providencia",
         "--sii-resolution-number", "0", "--sii-resolution-date", "2026-01-01",
         "--issuer-email", "facturacion@example.com", "--json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def _processes(args: argparse.Namespace) -> dict[str, list[str]]:
    python = sys.executable
    queues = "webhooks,billing,documents,agency,default"
    return {
        "web": [python, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{args.port}",
                "-w", str(args.web_workers), "--timeout", "60", "--log-level", "warning"],
        "worker": [python, "-m", "celery", "-A", "config", "worker", "-Q", queues,
                   "-c", str(args.worker_concurrency), "-n", f"load-{os.getpid()}@%h",
                   "--loglevel", "warning", "--without-gossip", "--without-mingle"],
        "beat": [python, "-m", "celery", "-A", "config", "beat", "--loglevel", "warning",
                 "-s", str(LOG_DIR / "celerybeat-schedule")],
    }  # fmt: skip


@contextmanager
def _running(name: str, command: list[str]) -> Iterator[subprocess.Popen]:
    """A process in a session of its own, its output in var/load/NAME.log; stopped (the
    whole session) on the way out."""
    with open(LOG_DIR / f"{name}.log", "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            yield process
        finally:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """A warm shutdown: SIGTERM to the main process alone, which lets its children finish
    (a signal to the whole group would kill a Celery child mid-task); then the group."""
    if process.poll() is None:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _wait_until_healthy(base: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server at {base} did not answer /health/ within 60 s")


def _seed(base: str, workspace: dict, hook_url: str, customers: int) -> dict:
    """Customers, products, a meter, finalized invoices and a webhook endpoint, through
    the API; what the clients need to know of them."""
    import httpx
    from stdnum.cl import rut

    headers = {
        "Authorization": f"Token {workspace['token']}",
        "x-simple-workspace": workspace["workspace"],
        # Test mode: the webhook endpoint on the local receiver is plain http.
        "x-piriod-test-mode": "true",
    }
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:

        def post(path: str, body: dict) -> dict:
            response = client.post(path, json=body)
            if response.status_code not in (200, 201):
                status, text = response.status_code, response.text
                raise SystemExit(f"seeding: POST {path} answered {status}: {text}")
            return response.json()

        run = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        # The workspace is reused: an earlier run's endpoint points at a receiver that is
        # gone, and would double the deliveries of every event while it retries.
        for endpoint in client.get("/webhooks/", params={"page_size": 100}).json()["results"]:
            client.delete(f"/webhooks/{endpoint['id']}/").raise_for_status()
        post("/webhooks/", {"url": hook_url, "events": ["*"]})
        meter = post(
            "/meters/",
            {"name": "API tokens", "event_name": "api_call", "aggregation": "sum",
             "field": "tokens"},
        )["id"]  # fmt: skip
        products = [post("/products/", {"name": f"Servicio {n}"})["name"] for n in range(5)]
        seeded = []
        for n in range(customers):
            number = str(76_000_000 + n)
            reference = f"seed-{run}-{n}"
            customer = post(
                "/customers/",
                {"name": f"Cliente {n}", "country": "CL", "reference": reference,
                 "tax_id": f"{number}-{rut.calc_check_digit(number)}"},
            )  # fmt: skip
            seeded.append({"id": customer["id"], "reference": reference})
        today = datetime.now(ZoneInfo("America/Santiago")).date()  # the workspace's day
        invoices = []
        for customer in seeded[:20]:
            invoice = post(
                "/invoices/",
                {"customer": customer["id"], "document": 33, "date": today.isoformat(),
                 "due_date": (today + timedelta(days=30)).isoformat(),
                 "lines": [{"name": products[0], "amount": "10000"}]},
            )  # fmt: skip
            invoices.append(post(f"/invoices/{invoice['id']}/finalize/", {})["id"])
    return {
        **workspace,
        "meter": meter,
        "products": products,
        "customers": seeded,
        "invoices": invoices,
    }


def _run_locust(args: argparse.Namespace, base: str, seed_path: Path, prefix: Path) -> None:
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base,
        "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.duration}s",
        "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10",
    ]  # fmt: skip
    env = {**os.environ, "LOAD_SEED": str(seed_path), "LOAD_USER_RATE": str(args.user_rate)}
    # Locust exits 1 when a request failed; the report below decides the outcome.
    with open(LOG_DIR / "locust.log", "wb") as log:
        subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _read_stats(prefix: Path) -> list[dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        return list(csv.DictReader(f))


def _read_failures(prefix: Path) -> list[dict[str, str]]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _task_failures(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line for line in lines if any(marker in line for marker in TASK_FAILURE_MARKERS)]


def _drain(timeout: int) -> tuple[float | None, dict]:
    """Wait for the worker to finish what the load left: no message on any queue, no
    delivery due, no event unpublished. Seconds it took (None: not within `timeout`),
    and the backlog last seen."""
    started = time.monotonic()
    while True:
        backlog = _monitor()
        waiting = (
            sum((backlog.get("queues") or {}).values())
            + backlog.get("webhook_deliveries", {}).get("due", 0)
            + backlog.get("unpublished_events", {}).get("count", 0)
        )
        elapsed = time.monotonic() - started
        if "error" not in backlog and waiting == 0:
            return elapsed, backlog
        if elapsed >= timeout:
            return None, backlog
        time.sleep(2)


def _monitor() -> dict:
    out = subprocess.run(
        [sys.executable, "manage.py", "monitor"], cwd=ROOT, capture_output=True, text=True
    )
    return json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr[-500:]}


def _report(
    rows: list[dict[str, str]],
    failures: list[dict[str, str]],
    task_failures: list[str],
    backlog: dict,
    max_p99: float,
    load_average: tuple[float, float, float],
) -> bool:
    print(f"\n{'endpoint':<32}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}")
    total = rows[-1]
    for row in rows:
        name = "all" if row is total else f"{row['Type']} {row['Name']}"
        print(
            f"{name:<32}{row['Request Count']:>9}{float(row['Requests/s']):>8.1f}"
            f"{row['50%']:>8}{row['99%']:>8}{row['Failure Count']:>8}"
        )
    for failure in failures:
        print(f"  error: {failure['Method']} {failure['Name']} × {failure['Occurrences']}: "
              f"{failure['Error'][:300]}")  # fmt: skip
    for line in task_failures[:20]:
        print(f"  worker: {line[:300]}")
    errors = int(total["Failure Count"])
    p99 = float(total["99%"]) if total["99%"] != "N/A" else float("inf")
    print(f"\nbacklog after the run: {json.dumps(backlog)}")
    print(
        f"rate {float(total['Requests/s']):.1f} req/s, p50 {total['50%']} ms, "
        f"p99 {total['99%']} ms, "
        f"{errors} request errors, {len(task_failures)} failed tasks; load average at the end "
        f"{' '.join(f'{x:.2f}' for x in load_average)}"
    )
    ok = errors == 0 and not task_failures and p99 < max_p99
    print("PASS" if ok else f"FAIL (needs 0 errors, 0 failed tasks and p99 < {max_p99:g} ms)")
    return ok


if __name__ == "__main__":
    main()
