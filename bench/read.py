"""The read path over HTTP: `GET /invoices/{id}/` against a bare Django view.

    python bench/read.py [--requests 1500] [--port 8100] [--json]

Needs PostgreSQL (BENCH_DATABASE_URL, default a `billing_readbench` database on
127.0.0.1, created and migrated if missing) and uses the cache REDIS_URL names, as the
server does. Seeds a workspace, a token and a finalized invoice with 5 lines, then starts
real gunicorn (one gthread worker, DEBUG off, the server's middleware) with
bench/settings.py, whose URLconf adds a bare view answering the invoice's exact bytes and
the floor: that view plus one round trip to the cache and one trivial prepared query,
what any design of the read must do per request (bench/urls.py). One keep-alive client
per URL alternates rounds of the three and prints each one's median latency, requests
per second, the CPU per request of the worker and of its PostgreSQL backend (read from
/proc when the server runs on this machine), the ratio of the API's requests per second
to the bare view's (the goal is at least 0.6) and the floor's ratio to the bare view's
(the most any design could reach).
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.environment import ROOT, bench_environment, ensure_database, process_cpu_seconds

BODY_FILE = Path(tempfile.mkdtemp(prefix="bench-read-")) / "body.json"
DATABASE_URL = bench_environment(
    "billing_readbench",
    CELERY_BROKER_URL="memory://",
    # The request budget stays on (its cache round trip is part of the path), out of reach.
    API_THROTTLE_RATE="100000000/min",
    # The worker keeps one database session for the whole run, so its backend's CPU is
    # read from one process: a session closed mid-round would take its CPU with it.
    CONN_MAX_AGE="3600",
    BENCH_READ_BODY_FILE=str(BODY_FILE),
)
GOAL = 0.6
ROUNDS = 10


def seed() -> tuple[str, str, str]:
    """A finalized invoice with 5 lines: its path, the workspace id and an API key."""
    from django.utils import timezone

    from billing.documents import LineRow
    from billing.models import Country, DocumentType
    from billing.services.workspaces import workspace_bootstrap
    from customers.models import Customer
    from invoices.services.invoices import invoice_create, invoice_finalize

    workspace, issued = workspace_bootstrap(
        name="Bench read", country_code="CL", email="bench-read@example.com", now=timezone.now()
    )
    workspace.tax_id, workspace.address = "76.086.428-5", "Av. Providencia 1234"
    workspace.activity_description = "Servicios informáticos"
    workspace.save()
    customer = Customer.objects.create(
        workspace=workspace,
        test_mode=False,
        name="Comercial Los Aromos Ltda.",
        country=Country.objects.get(code="CL"),
        currency_id="CLP",
        tax_id="77.123.456-9",
        email="pagos@losaromos.cl",
    )
    lines: list[LineRow] = [
        {"name": f"Item {i}", "amount": Decimal(1990 + i * 1000), "quantity": Decimal(i + 1)}
        for i in range(5)
    ]
    invoice = invoice_create(
        workspace=workspace,
        test_mode=False,
        customer=customer,
        document=DocumentType.objects.get(pk=33),
        date=date(2026, 3, 31),
        lines=lines,
    )
    invoice = invoice_finalize(invoice=invoice, now=timezone.now())
    return f"/invoices/{invoice.pk}/", workspace.id, issued.key


def worker_cpu_seconds(master_pid: int) -> float:
    """User plus system CPU of the master's children (the worker), from /proc."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    used = [process_cpu_seconds(int(pid)) for pid in children]
    if None in used:
        raise SystemExit("a gunicorn worker exited during the run")
    return sum(cpu for cpu in used if cpu is not None)


def backend_cpu_seconds() -> dict[int, float]:
    """CPU of each PostgreSQL backend serving the benchmark's database other than this
    process's own (the worker's), by pid; empty when the server is not on this machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    seconds = {pid: process_cpu_seconds(pid) for pid in pids}
    return {pid: cpu for pid, cpu in seconds.items() if cpu is not None}


def backend_cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """The backends' CPU between two readings; a backend started meanwhile counts whole."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited before answering")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/bare/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


SIDES = ("api", "bare", "floor")


def measure(requests: int, port: int, path: str, headers: dict[str, str]) -> dict:
    """Alternating rounds of the API, the bare view and the floor, on one keep-alive
    connection each."""
    conns = {side: http.client.HTTPConnection("127.0.0.1", port, timeout=10) for side in SIDES}
    urls = {"api": path, "bare": "/bench/bare/", "floor": "/bench/floor/"}
    latencies: dict[str, list[float]] = {side: [] for side in SIDES}
    walls = dict.fromkeys(latencies, 0.0)
    cpus = dict.fromkeys(latencies, 0.0)
    backend_cpus = dict.fromkeys(latencies, 0.0)
    per_round = max(1, requests // ROUNDS)
    master = int(Path(os.environ["BENCH_READ_PIDFILE"]).read_text())
    for _ in range(ROUNDS):
        for side in SIDES:
            conn, url = conns[side], urls[side]
            backends_before = backend_cpu_seconds()
            cpu_before, wall_before = worker_cpu_seconds(master), time.perf_counter()
            for _ in range(per_round):
                began = time.perf_counter()
                conn.request("GET", url, headers=headers)
                response = conn.getresponse()
                response.read()
                latencies[side].append(time.perf_counter() - began)
                if response.status != 200:
                    raise SystemExit(f"{url} answered {response.status}")
            walls[side] += time.perf_counter() - wall_before
            cpus[side] += worker_cpu_seconds(master) - cpu_before
            backend_cpus[side] += backend_cpu_spent(backends_before, backend_cpu_seconds())
    result = {}
    for side in SIDES:
        count = len(latencies[side])
        result[side] = {
            "median_ms": median(latencies[side]) * 1000,
            "requests_per_second": count / walls[side],
            "cpu_ms_per_request": cpus[side] * 1000 / count,
            "backend_cpu_ms_per_request": backend_cpus[side] * 1000 / count,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1500, help="per side")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_READ_PORT", 8100)))
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    args = parser.parse_args()
    ensure_database(DATABASE_URL)

    import django

    django.setup()
    path, workspace, key = seed()
    headers = {"Authorization": f"Token {key}", "x-simple-workspace": workspace}

    pidfile = BODY_FILE.with_name("gunicorn.pid")
    os.environ["BENCH_READ_PIDFILE"] = str(pidfile)
    # The bare view answers the API's bytes: read them from the server once it is up.
    BODY_FILE.write_bytes(b"{}")
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{args.port}",
        "--worker-class", "gthread", "--workers", "1", "--threads", "1",
        "--keep-alive", "30", "--pid", str(pidfile), "--log-level", "warning",
    ]  # fmt: skip
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DEBUG": "false"}

    def start() -> subprocess.Popen:
        server = subprocess.Popen(command, cwd=ROOT, env=env)
        wait_until_up(args.port, server)
        return server

    server = start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}: {body[:300]!r}")
    finally:
        server.terminate()
        server.wait()
    BODY_FILE.write_bytes(body)
    server = start()
    try:
        # Warm both sides (imports, connections, caches) before measuring.
        measure(ROUNDS * 20, args.port, path, headers)
        result = measure(args.requests, args.port, path, headers)
    finally:
        server.terminate()
        server.wait()

    api, bare, floor = result["api"], result["bare"], result["floor"]
    ratio = api["requests_per_second"] / bare["requests_per_second"]
    floor_ratio = floor["requests_per_second"] / bare["requests_per_second"]
    summary = {
        "bench": "read",
        "figure": "GET /invoices/{id}/ (finalized, 5 lines), requests/s",
        "value": round(api["requests_per_second"], 1),
        "baseline": round(bare["requests_per_second"], 1),
        "baseline_name": "bare Django view, same bytes",
        "ratio": round(ratio, 3),
        "goal": f">= {GOAL}",
        "met": ratio >= GOAL,
        "api": api,
        "bare": bare,
        "floor": {**floor, "ratio_to_bare": round(floor_ratio, 3)},
        "body_bytes": len(body),
    }
    if args.json:
        print(json.dumps(summary))
        return
    print(f"database {DATABASE_URL}; {args.requests} requests per side, {len(body)} bytes each")
    for name, side in (("api  ", api), ("bare ", bare), ("floor", floor)):
        print(
            f"{name}: median {side['median_ms']:.2f} ms, {side['requests_per_second']:.0f} req/s,"
            f" CPU per request: worker {side['cpu_ms_per_request']:.2f} ms,"
            f" PostgreSQL backend {side['backend_cpu_ms_per_request']:.2f} ms"
        )
    print(f"ratio api/bare (req/s): {ratio:.2f} (goal >= {GOAL})")
    print(f"ratio floor/bare (req/s): {floor_ratio:.2f} (what no design of the read can pass)")


if __name__ == "__main__":
    main()
