"""One billing cycle run on PostgreSQL: due subscriptions to finalized, numbered invoices.

    python bench/cycle.py [--subscriptions 10000] [--batch 500] [--profile] [--json]

Needs PostgreSQL (BENCH_DATABASE_URL, default a `billing_subbench` database on 127.0.0.1,
created and migrated if missing). Creates N due subscriptions in a fresh workspace (each
one plan line, a coupon on every tenth), then times one `cycle_run` — the work beat's
batches do: lock, price, insert invoices and lines, take number ranges, record events,
advance — until every one is billed, and checks the numbers are exactly 1..N. It then
times a raw bulk insert (COPY) of the very rows the run wrote (invoices, lines, billed
periods, events, under new keys, in the run's batches, each committed as the run commits
its batches) and prints the ratio: the run's overhead over the bare cost of storing its
output. The same COPYs in one transaction rolled back (no deferred key checks, no
commit), the baseline of earlier figures, are printed beside it. `--profile` prints
where the run's time goes (by cumulative and by own time). `--json` prints the figures
as one JSON line instead (the ratio to the committed COPY, and to the rolled-back one).
Events and collection tasks queued on commit go to an in-memory broker, whose connection
is set up before the clock starts (the worker that runs cycles holds one already).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.environment import bench_environment, ensure_database

DATABASE_URL = bench_environment(
    "billing_subbench",
    CELERY_BROKER_URL="memory://",
    MEDIA_ROOT=tempfile.mkdtemp(prefix="bench-media-"),
)


def arrange(count: int):
    """A workspace with `count` subscriptions due now (bulk-inserted: this is setup)."""
    from django.utils import timezone

    from billing.clock import workspace_today
    from billing.models import Country
    from billing.services.workspaces import workspace_create
    from catalog.models import Coupon, Plan, Product
    from customers.models import Customer
    from subscriptions.calendar import local_midnight
    from subscriptions.models import Subscription, SubscriptionLine

    now = timezone.now()
    workspace = workspace_create(name="Bench cycles", country_code="CL", tax_id="76086428-5")
    today = workspace_today(workspace, now)
    scope = {"workspace": workspace, "test_mode": False}
    product = Product.objects.create(**scope, name="Plataforma", unit_label="mes")
    plans = [
        Plan.objects.create(**scope, product=product, name=f"Plan {i}", currency_id="CLP",
                            amount=Decimal(9990 + 10000 * i))
        for i in range(3)
    ]  # fmt: skip
    coupon = Coupon.objects.create(**scope, name="Lanzamiento", amount=Decimal(15))
    country = Country.objects.get(code="CL")
    customers = Customer.objects.bulk_create(
        Customer(**scope, name=f"Cliente {i}", country=country, currency_id="CLP",
                 tax_id="77123456-9", email=f"pagos{i}@cliente.cl")
        for i in range(200)
    )  # fmt: skip
    subscriptions = Subscription.objects.bulk_create(
        Subscription(
            **scope, customer=customers[i % len(customers)], document_id=33, currency_id="CLP",
            frequency="monthly", date_start=today, billing_anchor=today, next_billing=today,
            next_billing_at=local_midnight(today, workspace.timezone),
            coupon=coupon if i % 10 == 0 else None,
        )
        for i in range(count)
    )  # fmt: skip
    SubscriptionLine.objects.bulk_create(
        SubscriptionLine(subscription=s, plan=plans[i % 3], quantity=Decimal(1 + i % 4))
        for i, s in enumerate(subscriptions)
    )
    return workspace


_TABLES = {
    # table: (columns whose values are keys to rename, unique columns to shift)
    "invoices_invoice": ("id",),
    "invoices_invoiceline": ("id", "invoice_id"),
    "subscriptions_billedperiod": ("invoice_id",),
    "billing_event": ("id", "object_id"),
}
_SELECTIONS = {
    "invoices_invoice": "SELECT * FROM invoices_invoice WHERE workspace_id = %s",
    "invoices_invoiceline": "SELECT l.* FROM invoices_invoiceline l JOIN invoices_invoice i "
    "ON i.id = l.invoice_id WHERE i.workspace_id = %s",
    "subscriptions_billedperiod": "SELECT p.* FROM subscriptions_billedperiod p JOIN "
    "invoices_invoice i ON i.id = p.invoice_id WHERE i.workspace_id = %s",
    "billing_event": "SELECT * FROM billing_event WHERE workspace_id = %s",
}


def _written_rows(
    workspace, batch: int, copy: int
) -> list[dict[str, tuple[list[str], list[list]]]]:
    """The rows the run wrote, under new keys (and numbers and periods that do not
    collide; `copy` numbers the copy, so two never share a key), ready for COPY, in the
    run's batches: each invoice with its
    lines, its billed period and the events of the invoice and its subscription, grouped
    as the run grouped them (`batch` invoices a transaction, in number order)."""
    from django.db import connection

    cursor = connection.cursor()
    tables: dict[str, tuple[list[str], list[list]]] = {}
    for table, sql in _SELECTIONS.items():
        cursor.execute(sql, [workspace.id])
        columns = [c.name for c in cursor.description]
        tables[table] = (columns, [list(row) for row in cursor.fetchall()])
    invoices_columns, invoices = tables["invoices_invoice"]
    at = {name: i for i, name in enumerate(invoices_columns)}
    # Which batch wrote each row: its invoice's, by number (batches number in order).
    chunk_of = {row[at["id"]]: (row[at["number"]] - 1) // batch for row in invoices}
    chunk_of.update({row[at["subscription_id"]]: chunk_of[row[at["id"]]] for row in invoices})
    owner = {
        "invoices_invoice": "id", "invoices_invoiceline": "invoice_id",
        "subscriptions_billedperiod": "invoice_id", "billing_event": "object_id",
    }  # fmt: skip
    chunks: list[dict[str, tuple[list[str], list[list]]]] = [
        {} for _ in range(max(chunk_of.values(), default=-1) + 1)
    ]
    for table, (columns, rows) in tables.items():
        owner_at = columns.index(owner[table])
        renamed = {columns.index(c) for c in _TABLES[table] if c in columns}
        for row in rows:
            chunk = chunk_of[row[owner_at]]
            for index in renamed:
                row[index] = f"{row[index]}{'r' * copy}"
            if table == "invoices_invoice":
                row[columns.index("number")] += 10_000_000 * copy
            if table == "subscriptions_billedperiod":
                row[columns.index("period_start")] -= timedelta(days=copy)
            chunks[chunk].setdefault(table, (columns, []))[1].append(row)
    for chunk in chunks:
        for table, (columns, rows) in list(chunk.items()):
            if table == "subscriptions_billedperiod":  # its serial key is the database's
                keep = [i for i, c in enumerate(columns) if c != "id"]
                columns = [columns[i] for i in keep]
                rows = [[row[i] for i in keep] for row in rows]
            json_columns = {
                i for i, c in enumerate(columns)
                if c in ("metadata", "references", "tax_agency", "data")
            }  # fmt: skip
            for row in rows:
                for index in json_columns:
                    row[index] = json.dumps(row[index])
            chunk[table] = (columns, rows)
    return chunks


def _copy_chunk(cursor, chunk: dict[str, tuple[list[str], list[list]]]) -> None:
    for table in _TABLES:
        if table not in chunk:
            continue
        columns, rows = chunk[table]
        quoted = ", ".join(f'"{c}"' for c in columns)
        with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def raw_copy_seconds(workspace, batch: int) -> tuple[float, float]:
    """The bare cost of storing the run's rows: COPY them back in under new keys, in the
    run's batches, each committed as the run commits its batches (so the deferred
    foreign-key checks and the commit's flush are paid, as the run pays them), timed
    from the first COPY of a batch to its commit; the copies are deleted afterwards.
    Also the time of the same COPYs in one transaction rolled back (no key checks, no
    flush), the baseline of earlier figures. Returns (committed, rolled back)."""
    from django.db import connection, transaction

    chunks = _written_rows(workspace, batch, copy=1)
    committed = 0.0
    for chunk in chunks:
        began = time.perf_counter()
        with transaction.atomic():
            _copy_chunk(connection.cursor(), chunk)
        committed += time.perf_counter() - began
    with transaction.atomic(), connection.cursor() as cursor:
        for table, key in [
            ("billing_event", "id"), ("subscriptions_billedperiod", "invoice_id"),
            ("invoices_invoiceline", "invoice_id"), ("invoices_invoice", "id"),
        ]:  # fmt: skip
            keys = [
                row[columns.index(key)]
                for chunk in chunks if table in chunk
                for columns, rows in [chunk[table]] for row in rows
            ]  # fmt: skip
            cursor.execute(f"DELETE FROM {table} WHERE {key} = ANY(%s)", [keys])
    whole: dict[str, tuple[list[str], list[list]]] = {}
    for chunk in _written_rows(workspace, batch, copy=2):
        for table, (columns, rows) in chunk.items():
            whole.setdefault(table, (columns, []))[1].extend(rows)
    began = time.perf_counter()
    with transaction.atomic():
        _copy_chunk(connection.cursor(), whole)
        rolled_back = time.perf_counter() - began
        transaction.set_rollback(True)
    return committed, rolled_back


def _backend_cpu_reader():
    """A reader of the CPU seconds the run's PostgreSQL backend has used (user and system,
    from /proc), or of None when the server is not on this machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float | None:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        name, fields = stat.split(" (", 1)[1].rsplit(")", 1)[0], stat.rsplit(")", 1)[1].split()
        if name != "postgres":  # a process of this machine's own, the server being elsewhere
            return None
        return (int(fields[11]) + int(fields[12])) / ticks

    return read


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args()
    ensure_database(DATABASE_URL)

    import django

    django.setup()
    from django.utils import timezone

    from billing.clock import clock_now
    from billing.queueing import task_queue
    from invoices.models import Invoice
    from subscriptions.services.cycles import cycle_run

    workspace = arrange(args.subscriptions)
    # Cycles run in a long-lived worker whose broker connection and producer are set up
    # already: set them up before the clock starts, as a cold process pays a fifth of a
    # second for its first message.
    task_queue("subscriptions.tasks.publish_events", kwargs={"event_ids": []})
    if not args.json:
        print(f"database {DATABASE_URL}; {args.subscriptions} due subscriptions, batches of "
              f"{args.batch}")  # fmt: skip
    profiler = cProfile.Profile() if args.profile else None
    backend = _backend_cpu_reader()
    backend_began, cpu_began = backend(), time.process_time()
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    billed = cycle_run(clock=clock_now, now=timezone.now(), batch_size=args.batch)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - began
    cpu = (time.process_time() - cpu_began) * 1000 / args.subscriptions
    backend_ended = backend()
    backend_cpu = (
        None
        if backend_began is None or backend_ended is None
        else (backend_ended - backend_began) * 1000 / args.subscriptions
    )

    invoices = Invoice.objects.filter(workspace=workspace)
    numbers = sorted(
        n for n in invoices.filter(status="finalized").values_list("number", flat=True) if n
    )
    assert billed == args.subscriptions, f"billed {billed}"
    assert numbers == list(range(1, args.subscriptions + 1)), "numbers are not 1..N"
    raw, rolled_back = raw_copy_seconds(workspace, args.batch)
    rate = args.subscriptions / elapsed
    print(
        f"cycle run: {rate:7.0f} invoices/s ({args.subscriptions} finalized, numbered 1.."
        f"{args.subscriptions}, in {elapsed:.2f} s)\n"
        f"raw COPY of the same rows (invoices, lines, periods, events), committed in the "
        f"run's batches: {raw:.2f} s, {args.subscriptions / raw:.0f} invoices/s; the run "
        f"takes {elapsed / raw:.1f}× that\n"
        f"(the same COPYs in one transaction rolled back: {rolled_back:.2f} s, "
        f"{elapsed / rolled_back:.1f}×)\n"
        f"CPU per invoice: {cpu:.3f} ms in this process, "
        + ("unknown" if backend_cpu is None else f"{backend_cpu:.3f} ms")
        + " in its PostgreSQL backend (what a busy machine's wall time hides)"
    )
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        print(out.getvalue(), file=sys.stderr if args.json else sys.stdout)
    print(f"(generated {timezone.now():%Y-%m-%d %H:%M} UTC)")
    if args.json:
        print(json.dumps({
            "bench": "cycle", "figure": f"billing cycle, N={args.subscriptions}, invoices/s",
            "value": round(rate, 1), "baseline": round(args.subscriptions / raw, 1),
            "baseline_name": "raw COPY of the same rows, committed in the run's batches",
            "ratio": round(raw / elapsed, 3),
            "ratio_to_rolled_back_copy": round(rolled_back / elapsed, 3),
            "goal": ">= 1000/s and ratio >= 0.33 (<= 3x COPY)",
            "met": rate >= 1000 and raw / elapsed >= 1 / 3,
            "cpu_ms_per_invoice": round(cpu, 4),
            "backend_cpu_ms_per_invoice": None if backend_cpu is None else round(backend_cpu, 4),
        }))  # fmt: skip


if __name__ == "__main__":
    main()
