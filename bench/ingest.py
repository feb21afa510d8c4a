"""Usage event ingestion over real HTTP: `POST /events/bulk/` served by gunicorn.

    python bench/ingest.py [--requests 60] [--clients 4] [--workers 4] [--port N] [--full]

Needs PostgreSQL (BENCH_DATABASE_URL, default a `billing_meterbench` database on
127.0.0.1, created and migrated if missing). Starts gunicorn on a free loopback port (or `--port`),
waits until every worker answers (their start-up is not counted), then `--clients`
threads post `--requests` bodies of 1,000 events each, a third of every body being
events already sent (duplicates, answered and not stored). Prints events per
second (sent, and stored), then the same stored rows written by a bare COPY into a table
shaped like the event table (its columns and indexes) and committed, in this run, and the
ratio; also the same COPY into a temporary table (not logged, rolled back) for reference.
`--full` runs the issue's size: 300 requests (300,000 events). On a shared machine the
wall clock depends on what else runs, so it also prints the CPU time spent per 1,000
events (gunicorn's workers and their PostgreSQL backends, read from /proc) against the
COPY's (its client and backend) per 1,000 rows.
"""

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.environment import ROOT, bench_environment, ensure_database

DATABASE_URL = bench_environment(
    "billing_meterbench", CELERY_BROKER_URL="memory://", API_THROTTLE_RATE="100000000/min"
)
PER_REQUEST = 1000
# The issue's goal: events sent per second, and that rate over the COPY's rows per second.
GOAL_RATE, GOAL_RATIO = 50_000, 0.5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bodies(requests: int, run: str) -> tuple[list[bytes], list[dict]]:
    """Request bodies (a third of each body repeats earlier events) and the unique events."""
    import orjson

    rng = random.Random(7)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    unique: list[dict] = []
    bodies = []
    fresh_per_request = PER_REQUEST - PER_REQUEST // 3
    for r in range(requests):
        fresh = [
            {"event_id": f"{run}-{r}-{n}", "event_name": "api_call",
             "customer": f"cus_bench{rng.randrange(1000)}",
             "timestamp": (start + timedelta(seconds=rng.randrange(2_000_000))).isoformat(),
             "properties": {"tokens": rng.randrange(1, 5000), "model": rng.choice("abc")}}
            for n in range(fresh_per_request)
        ]  # fmt: skip
        unique += fresh
        repeated = [rng.choice(unique) for _ in range(PER_REQUEST - fresh_per_request)]
        events = fresh + repeated
        rng.shuffle(events)
        bodies.append(orjson.dumps({"events": events}))
    return bodies, unique


def _serve(port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
         "-w", str(workers), "--log-level", "warning"],
        cwd=ROOT, env=os.environ.copy(),
    )  # fmt: skip
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def _warm_up(port: int, headers: dict, workers: int) -> None:
    """Wait until every worker has loaded the application and answered a request.

    gunicorn's port accepts as soon as the master binds it, while each worker still
    imports Django (about 2 s here), and a worker's first request loads the URL
    configuration: counted in, that start-up would be a large share of a short run. A
    GET on the bulk route goes through routing, authentication and the database
    connection, and stores nothing."""
    import httpx

    def ping() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as c:
            for _ in range(3):
                c.get("/events/bulk/")

    threads = [threading.Thread(target=ping) for _ in range(workers * 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _post_all(port: int, headers: dict, bodies: list[bytes], clients: int) -> float:
    import httpx

    queue = list(enumerate(bodies))
    lock = threading.Lock()
    failures: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as c:
            while True:
                with lock:
                    if not queue:
                        return
                    _, body = queue.pop(0)
                response = c.post("/events/bulk/", content=body)
                if response.status_code != 202:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return elapsed


def _cpu_seconds(pids: list[int]) -> dict[int, float] | None:
    """The CPU time (user + system) each process has used, from /proc; None where it
    cannot be read (no /proc, or PostgreSQL on another host)."""
    used = {}
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None
    return used


def _server_pids(server: subprocess.Popen) -> tuple[list[int], list[int]]:
    """gunicorn's workers, and the PostgreSQL backends serving the bench's database."""
    import psycopg

    try:
        with open(f"/proc/{server.pid}/task/{server.pid}/children") as children:
            workers = [int(pid) for pid in children.read().split()]
    except OSError:
        return [], []
    with psycopg.connect(DATABASE_URL) as conn:
        backends = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return workers, [pid for (pid,) in backends]


def _copy_seconds(
    workspace_id: str, unique: list[dict], *, durable: bool
) -> tuple[float, float | None]:
    """COPY the stored rows into a table with the event table's columns and indexes.

    Durable: a plain table and a COMMIT inside the clock, so the rows are written to the
    recovery log and flushed as every accepted event is (`synchronous_commit` stays on).
    Not durable: a temporary table, which PostgreSQL does not log, rolled back: a floor no
    server that promises an accepted event survives a crash can reach.
    """
    import orjson
    from django.db import connection, transaction

    table = f"bench_copy_{os.getpid()}"
    with connection.cursor() as cursor:
        if durable:
            cursor.execute(f"CREATE TABLE {table} (LIKE metering_event_2026_11 INCLUDING ALL)")
    try:
        with transaction.atomic():
            cursor = connection.cursor()
            if not durable:
                cursor.execute(
                    f"CREATE TEMP TABLE {table} (LIKE metering_event_2026_11 INCLUDING ALL) "
                    "ON COMMIT DROP"
                )
            backend = [cursor.connection.info.backend_pid]
            started, cpu_started = time.perf_counter(), time.process_time()
            backend_started = _cpu_seconds(backend)
            with cursor.cursor.copy(
                f"COPY {table} (workspace_id, test_mode, event_id, event_name, customer_key, "
                "timestamp, properties, received_at) FROM STDIN"
            ) as copy:
                now = datetime.now(UTC)
                for e in unique:
                    copy.write_row([
                        workspace_id, False, e["event_id"], e["event_name"], e["customer"],
                        datetime.fromisoformat(e["timestamp"]),
                        orjson.dumps(e["properties"]).decode(), now,
                    ])  # fmt: skip
            if not durable:
                transaction.set_rollback(True)
        # The block's end is the COMMIT (or the rollback): inside the clock.
        elapsed = time.perf_counter() - started
        backend_used = _cpu_seconds(backend)
    finally:
        if durable:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cpu = None
    if backend_started and backend_used:
        cpu = time.process_time() - cpu_started + sum(backend_used.values())
        cpu -= sum(backend_started.values())
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--clients", type=int, default=4)
    # As many workers as clients: a client never waits for a worker.
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("BENCH_INGEST_PORT", 0)) or None,
        help="gunicorn's port (default: BENCH_INGEST_PORT, else a free one)",
    )
    parser.add_argument("--full", action="store_true", help="300 requests (300,000 events)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args()
    requests = 300 if args.full else args.requests
    ensure_database(DATABASE_URL)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from billing.models import Membership
    from billing.services.workspaces import api_token_issue, workspace_create

    workspace = workspace_create(name="Bench metering", country_code="CL")
    user = get_user_model().objects.create_user(username=f"bench-{workspace.id}")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.OWNER)
    key = api_token_issue(user=user, now=timezone.now()).key
    headers = {"Authorization": f"Token {key}", "x-simple-workspace": workspace.id,
               "Content-Type": "application/json"}  # fmt: skip
    bodies, unique = _bodies(requests, run=workspace.id[-8:])
    connection.close()  # gunicorn's workers open their own

    port = args.port or _free_port()
    server = _serve(port, args.workers)
    try:
        _warm_up(port, headers, args.workers)
        # A worker may open its connection only with its first POST: the processes are
        # listed again at the end, a backend that started since counted from zero.
        workers, backends = _server_pids(server)
        cpu_started = _cpu_seconds(workers + backends)
        elapsed = _post_all(port, headers, bodies, args.clients)
        workers, backends = _server_pids(server)
        cpu_used = _cpu_seconds(workers + backends)
    finally:
        server.terminate()
        server.wait(timeout=30)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM metering_event WHERE workspace_id = %s", [workspace.id]
        )
        stored = cursor.fetchone()[0]
    if stored != len(unique):
        raise SystemExit(f"stored {stored} events, expected {len(unique)}")
    copy, copy_cpu = _copy_seconds(workspace.id, unique, durable=True)
    unlogged, _ = _copy_seconds(workspace.id, unique, durable=False)
    sent = requests * PER_REQUEST
    print(f"HTTP bulk ingest: {requests} requests × {PER_REQUEST} events, {args.clients} clients, "
          f"{args.workers} gunicorn workers")  # fmt: skip
    print(
        f"  {sent} events sent ({sent - stored} duplicates) in {elapsed:.2f} s: "
        f"{sent / elapsed:,.0f} events/s sent, {stored / elapsed:,.0f} events/s stored"
    )
    print(
        f"Bare COPY of the {stored} stored rows into a plain table, committed: {copy:.2f} s, "
        f"{stored / copy:,.0f} rows/s"
    )
    print(
        f"Ratio (events sent per s over COPY rows per s): {(sent / elapsed) / (stored / copy):.0%}"
    )
    print(
        f"  (into a temporary table, not logged, rolled back: {stored / unlogged:,.0f} rows/s, "
        f"ratio {(sent / elapsed) / (stored / unlogged):.0%})"
    )
    # On a shared machine the wall clock depends on what else runs; CPU time much less.
    if cpu_started and cpu_used and copy_cpu:
        # Seconds per event; times 1e6, ms per 1,000 events.
        used = {pid: cpu - cpu_started.get(pid, 0.0) for pid, cpu in cpu_used.items()}
        python = sum(used[pid] for pid in workers) / sent
        database = sum(used[pid] for pid in backends) / sent
        per_row = copy_cpu / stored
        print(
            f"CPU per 1,000 events sent: {(python + database) * 1e6:.1f} ms "
            f"(gunicorn workers {python * 1e6:.1f}, their PostgreSQL backends "
            f"{database * 1e6:.1f}); COPY (client and backend) {per_row * 1e6:.1f} ms per "
            f"1,000 rows; ratio {per_row / (python + database):.0%}"
        )
    if args.json:
        rate, ratio = sent / elapsed, (sent / elapsed) / (stored / copy)
        print(json.dumps({
            "bench": "ingest", "figure": "usage events ingested over HTTP, events/s sent",
            "value": round(rate), "baseline": round(stored / copy),
            "baseline_name": "bare COPY of the stored rows, committed, rows/s",
            "ratio": round(ratio, 3), "goal": f">= {GOAL_RATE}/s and ratio >= {GOAL_RATIO}",
            "met": rate >= GOAL_RATE and ratio >= GOAL_RATIO,
        }))  # fmt: skip


if __name__ == "__main__":
    main()
