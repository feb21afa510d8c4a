"""Usage aggregation on PostgreSQL: one customer-month, and one billing cycle's usage.

    python bench/usage_query.py [--events 300000] [--customers 1000] [--windows 1000] [--full]
                                [--reuse WORKSPACE_ID]

Needs PostgreSQL (BENCH_DATABASE_URL, default a `billing_meterbench` database on
127.0.0.1, created and migrated if missing). Loads `--events` events (COPY; setup, not
measured) for `--customers` customers spread over twelve months in a fresh workspace,
then prints the median time of a customer-month sum (20 customers, each once warm), and
the time of `usage_windows` for `--windows` customer-periods in one query, the query a
billing cycle runs per meter. `--full` runs the issue's size: 10 million events and
10,000 windows (loading takes minutes). `--reuse` measures again over the events an
earlier run loaded (its workspace id is printed), without loading them again.
"""

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.environment import bench_environment, ensure_database

DATABASE_URL = bench_environment("billing_meterbench", CELERY_BROKER_URL="memory://")
YEAR = datetime(2025, 1, 1, tzinfo=UTC)


def load(workspace_id: str, events: int, customers: int) -> None:
    from django.db import connection

    rng = random.Random(11)
    seconds = 365 * 24 * 3600
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY metering_event (workspace_id, test_mode, event_id, event_name, customer_key, "
            "timestamp, properties, received_at) FROM STDIN"
        ) as copy:
            for n in range(events):
                at = YEAR + timedelta(seconds=rng.randrange(seconds))
                copy.write_row([
                    workspace_id, False, f"e{n}", "api_call", f"c{rng.randrange(customers)}",
                    at, f'{{"tokens": {rng.randrange(1, 1000)}}}', at,
                ])  # fmt: skip
        cursor.execute("ANALYZE metering_event")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--windows", type=int, default=1000)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    parser.add_argument("--reuse", metavar="WORKSPACE_ID", help="an earlier run's loaded events")
    args = parser.parse_args()
    events, windows = (10_000_000, 10_000) if args.full else (args.events, args.windows)
    customers = max(args.customers, windows)
    ensure_database(DATABASE_URL)

    import django

    django.setup()
    from billing.services.workspaces import workspace_create
    from metering.store import MeterSpec, Tenant, UsageQuery, Window
    from metering.store.postgres import PostgresEventStore

    if args.reuse:
        workspace_id = args.reuse
        print(f"Reusing the events of workspace {workspace_id}")
    else:
        workspace_id = workspace_create(name="Bench usage", country_code="CL").id
        started = time.perf_counter()
        load(workspace_id, events, customers)
        print(f"Loaded {events:,} events for {customers:,} customers in workspace "
              f"{workspace_id} in {time.perf_counter() - started:.1f} s (setup)")  # fmt: skip

    store, tenant = PostgresEventStore(), Tenant(workspace_id, False)
    meter = MeterSpec("api_call", "sum", "tokens")
    month = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
    timings = []
    for n in range(20):
        query = UsageQuery(meter, (f"c{n}",), *month)
        store.usage(tenant=tenant, query=query)  # warm
        started = time.perf_counter()
        store.usage(tenant=tenant, query=query)
        timings.append(time.perf_counter() - started)
    print(f"One customer-month (sum): median {statistics.median(timings) * 1000:.1f} ms, "
          f"max {max(timings) * 1000:.1f} ms over 20 customers")  # fmt: skip

    cycle = [Window(str(n), (f"c{n}",), *month) for n in range(windows)]
    started = time.perf_counter()
    values = store.usage_windows(tenant=tenant, meter=meter, windows=cycle)
    elapsed = time.perf_counter() - started
    print(f"One billing cycle: {windows:,} customer-months in one query: {elapsed * 1000:.0f} ms "
          f"({sum(values.values()):,} tokens)")  # fmt: skip
    if args.json:
        print(json.dumps({
            "bench": "usage_query",
            "figure": f"usage of {windows:,} customer-months, one query, ms",
            "value": round(elapsed * 1000, 1), "baseline": None, "baseline_name": "",
            "ratio": None, "goal": "", "met": None,
            "customer_month_median_ms": round(statistics.median(timings) * 1000, 2),
        }))  # fmt: skip


if __name__ == "__main__":
    main()
