"""Usage event ingestion over real HTTP: `POST /events/bulk/` served by gunicorn.

    python bench/ingest.py [--requests 60] [--clients 4] [--workers 4] [--rounds 3]
                           [--port N] [--full]

Needs PostgreSQL (BENCH_DATABASE_URL, default a `billing_meterbench` database on
127.0.0.1, created and migrated if missing). Starts gunicorn on a free loopback port (or
`--port`), waits until every worker answers (their start-up is not counted), then
`--clients` threads post `--requests` bodies of 1,000 events each, a third of every body
being events already sent (duplicates, answered and not stored). The baseline is a bare
COPY of the same stored rows into a table shaped like the event table (its columns and
indexes), committed. The two alternate in `--rounds` rounds: each round's requests, then
the COPY of the rows they stored, so both sides are measured across the same stretch of
time. Prints events per second (sent, and stored), the COPY's rows per second and the
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
from bench.environment import ROOT, bench_environment, ensure_database, process_cpu_seconds

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


def _bodies(requests: int, run: str) -> tuple[list[bytes], list[list[dict]]]:
    """Request bodies (a third of each body repeats earlier events) and, per body, the
    events it sends for the first time (those it stores)."""
    import orjson

    rng = random.Random(7)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    unique: list[dict] = []
    firsts: list[list[dict]] = []
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
        firsts.append(fresh)
        repeated = [rng.choice(unique) for _ in range(PER_REQUEST - fresh_per_request)]
        events = fresh + repeated
        rng.shuffle(events)
        bodies.append(orjson.dumps({"events": events}))
    return bodies, firsts


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
    """The CPU time (user + system) each process has used, from /proc; None where one
    cannot be read (no /proc, or PostgreSQL on another host)."""
    used = {pid: process_cpu_seconds(pid) for pid in pids}
    if None in used.values():
        return None
    return {pid: cpu for pid, cpu in used.items() if cpu is not None}


def _server_pids(server: subprocess.Popen, exclude: int | None) -> tuple[list[int], list[int]]:
    """gunicorn's workers, and the PostgreSQL backends serving the bench's database (but
    `exclude`, the bench's own connection, which runs the baseline's COPY)."""
    import psycopg

    try:
        with open(f"/proc/{server.pid}/task/{server.pid}/children") as children:
            workers = [int(pid) for pid in children.read().split()]
    except OSError:
        return [], []
    with psycopg.connect(DATABASE_URL) as conn:
        backends = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND pid IS DISTINCT FROM %s",
            [exclude],
        ).fetchall()
    return workers, [pid for (pid,) in backends]


_COLUMNS = (
    "workspace_id, test_mode, event_id, event_name, customer_key, timestamp, properties, "
    "received_at"
)


def _copy_seconds(
    table: str, workspace_id: str, rows: list[dict], *, durable: bool
) -> tuple[float, float | None]:
    """COPY `rows` as stored events into a table with the event table's columns and indexes.

    Durable: into `table`, a plain table the caller made, and a COMMIT inside the clock, so
    the rows are written to the recovery log and flushed as every accepted event is
    (`synchronous_commit` stays on). Not durable: into a temporary table, which PostgreSQL
    does not log, rolled back: a floor no server that promises an accepted event survives
    a crash can reach. Returns the wall seconds and the CPU seconds (this process and its
    backend).
    """
    import orjson
    from django.db import connection, transaction

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
        with cursor.cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN") as copy:
            now = datetime.now(UTC)
            for e in rows:
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
    cpu = None
    if backend_started and backend_used:
        cpu = time.process_time() - cpu_started + sum(backend_used.values())
        cpu -= sum(backend_started.values())
    return elapsed, cpu


class _Run:
    """What the rounds add up: each side's wall seconds, and CPU seconds per process."""

    def __init__(self) -> None:
        self.http = self.copy = 0.0
        self.copy_cpu: float | None = 0.0
        self.worker_cpu: float | None = 0.0
        self.backend_cpu = 0.0

    def add_http(self, elapsed: float, before: dict | None, after: dict | None,
                 workers: list[int]) -> None:  # fmt: skip
        self.http += elapsed
        if before is None or after is None or self.worker_cpu is None:
            self.worker_cpu = None
            return
        # A worker may open its connection only with its first POST: a backend that
        # started during the round is counted from zero.
        for pid, cpu in after.items():
            used = cpu - before.get(pid, 0.0)
            if pid in workers:
                self.worker_cpu += used
            else:
                self.backend_cpu += used

    def add_copy(self, elapsed: float, cpu: float | None) -> None:
        self.copy += elapsed
        self.copy_cpu = None if cpu is None or self.copy_cpu is None else self.copy_cpu + cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--clients", type=int, default=4)
    # As many workers as clients: a client never waits for a worker.
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--rounds", type=int, default=3,
        help="alternate this many rounds of HTTP and of the baseline's COPY",
    )  # fmt: skip
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
    rounds = max(1, min(args.rounds, requests))
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
    bodies, firsts = _bodies(requests, run=workspace.id[-8:])
    unique = [event for first in firsts for event in first]
    baseline = f"bench_copy_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {baseline} (LIKE metering_event_2026_11 INCLUDING ALL)")
        own_backend = cursor.connection.info.backend_pid

    # Rounds of HTTP, each followed by the COPY of the rows it stored into a table that
    # grows as the event table does: both sides are measured across the same stretch of
    # time, so a moment when the machine is busier weighs on both, not on one.
    run = _Run()
    port = args.port or _free_port()
    server = _serve(port, args.workers)
    try:
        _warm_up(port, headers, args.workers)
        for index in range(rounds):
            part = slice(index * requests // rounds, (index + 1) * requests // rounds)
            workers, backends = _server_pids(server, own_backend)
            before = _cpu_seconds(workers + backends)
            elapsed = _post_all(port, headers, bodies[part], args.clients)
            workers, backends = _server_pids(server, own_backend)
            run.add_http(elapsed, before, _cpu_seconds(workers + backends), workers)
            rows = [event for first in firsts[part] for event in first]
            run.add_copy(*_copy_seconds(baseline, workspace.id, rows, durable=True))
    finally:
        server.terminate()
        server.wait(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {baseline}")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM metering_event WHERE workspace_id = %s", [workspace.id]
        )
        stored = cursor.fetchone()[0]
    if stored != len(unique):
        raise SystemExit(f"stored {stored} events, expected {len(unique)}")
    unlogged, _ = _copy_seconds(f"bench_temp_{os.getpid()}", workspace.id, unique, durable=False)
    sent, elapsed, copy = requests * PER_REQUEST, run.http, run.copy
    print(
        f"HTTP bulk ingest: {requests} requests × {PER_REQUEST} events, {args.clients} "
        f"clients, {args.workers} gunicorn workers, in {rounds} rounds each followed by the COPY"
    )
    print(
        f"  {sent} events sent ({sent - stored} duplicates) in {elapsed:.2f} s: "
        f"{sent / elapsed:,.0f} events/s sent, {stored / elapsed:,.0f} events/s stored"
    )
    print(
        f"Bare COPY of the {stored} stored rows into a plain table, committed after each "
        f"round: {copy:.2f} s, {stored / copy:,.0f} rows/s"
    )
    print(
        f"Ratio (events sent per s over COPY rows per s): {(sent / elapsed) / (stored / copy):.0%}"
    )
    print(
        f"  (into a temporary table, not logged, rolled back: {stored / unlogged:,.0f} rows/s, "
        f"ratio {(sent / elapsed) / (stored / unlogged):.0%})"
    )
    # On a shared machine the wall clock depends on what else runs; CPU time much less.
    if run.worker_cpu is not None and run.copy_cpu:
        # Seconds per event; times 1e6, ms per 1,000 events.
        python, database = run.worker_cpu / sent, run.backend_cpu / sent
        per_row = run.copy_cpu / stored
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
            "baseline_name": "bare COPY of the stored rows, committed after each round, rows/s",
            "ratio": round(ratio, 3), "goal": f">= {GOAL_RATE}/s and ratio >= {GOAL_RATIO}",
            "met": rate >= GOAL_RATE and ratio >= GOAL_RATIO,
        }))  # fmt: skip


if __name__ == "__main__":
    main()
