"""Finalize throughput on PostgreSQL, and the cost of a document PDF.

    python bench/finalize.py [--invoices 300] [--clients 1 2 4] [--renders 10] [--json]

Needs PostgreSQL (BENCH_DATABASE_URL, default a `billing_bench` database on 127.0.0.1,
created and migrated if missing). Prints:
- finalized invoices per second (10 lines each) with N concurrent clients, each a thread
  with its own database connection, all finalizing in one workspace: the worst case,
  since every finalize takes the same numbering row lock (gapless numbers, rules.md §4);
  the numbers are checked to be exactly 1..N afterwards; and the CPU time per finalize
  of this process (the service runs in it) and of the clients' PostgreSQL backends
  (read from /proc, when the server runs on this machine);
- the time to render one invoice's PDF (context, template and WeasyPrint) against bare
  WeasyPrint rendering the same HTML string, and their ratio.
The PDF render and the events that finalize queues on commit go to an in-memory broker,
so they cost a finalize nothing here, as with a real broker.

With --json the text goes to stderr and stdout gets one JSON line of the figures, for
collecting runs: {"bench": "finalize", "invoices": N, "lines_per_invoice": 10,
"finalized_per_second": {"1": …, "2": …}, "pdf_ms": …, "bare_pdf_ms": …, "pdf_ratio": …}.
"""

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.environment import bench_environment, ensure_database, process_cpu_seconds

DATABASE_URL = bench_environment(
    "billing_bench",
    CELERY_BROKER_URL="memory://",
    MEDIA_ROOT=tempfile.mkdtemp(prefix="bench-media-"),
)
LINES_PER_INVOICE = 10


def finalize_concurrently(drafts: list, clients: int) -> tuple[float, float, float | None]:
    """Finalize the drafts from `clients` threads at once: the wall time, this process's
    CPU time and the CPU time of the clients' database backends (None when the server
    is not on this machine), in seconds."""
    from django.db import connection
    from django.utils import timezone

    from invoices.services.invoices import invoice_finalize

    start = threading.Barrier(clients + 1)
    errors: list[BaseException] = []
    database_cpu: list[float | None] = []

    def client(chunk: list) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (pid,) = cursor.fetchone()
            before = process_cpu_seconds(pid)
            start.wait()
            for invoice in chunk:
                invoice_finalize(invoice=invoice, now=timezone.now())
            after = process_cpu_seconds(pid)
            database_cpu.append(None if before is None or after is None else after - before)
        except BaseException as exc:  # reported below; a thread must not die silently
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=client, args=(drafts[i::clients],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    started, cpu_started = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if errors:
        raise SystemExit(f"{len(errors)} finalizes failed, first: {errors[0]!r}")
    known = [seconds for seconds in database_cpu if seconds is not None]
    return elapsed, cpu, sum(known) if len(known) == clients else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=300, help="finalized per client count")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args()
    text = sys.stderr if args.json else sys.stdout
    ensure_database(DATABASE_URL)

    import django

    django.setup()
    import weasyprint
    from django.utils import timezone

    from billing.documents import LineRow
    from billing.models import Country, DocumentType
    from billing.services.workspaces import workspace_create
    from customers.models import Customer
    from invoices.models import Invoice
    from invoices.pdf import render
    from invoices.services.invoices import invoice_create

    document = DocumentType.objects.get(pk=33)
    lines: list[LineRow] = [
        {"name": f"Item {i}", "amount": Decimal(1990 + i * 1000), "quantity": Decimal(i + 1)}
        for i in range(LINES_PER_INVOICE)
    ]
    print(f"database {DATABASE_URL}; {LINES_PER_INVOICE} lines per invoice", file=text)

    rates: dict[int, float] = {}
    cpu_ms: dict[int, float] = {}
    for clients in args.clients:
        workspace = workspace_create(name=f"Bench {clients}", country_code="CL")
        workspace.tax_id, workspace.address = "76.086.428-5", "Av. Providencia 1234"
        workspace.activity_description = "Servicios informáticos"
        workspace.save()
        customer = Customer.objects.create(
            workspace=workspace,
            test_mode=True,
            name="Comercial Los Aromos Ltda.",
            country=Country.objects.get(code="CL"),
            currency_id="CLP",
            tax_id="77.123.456-9",
            email="pagos@losaromos.cl",
        )
        drafts = [
            invoice_create(
                workspace=workspace,
                test_mode=True,
                customer=customer,
                document=document,
                date=date(2026, 3, 31),
                lines=lines,
            )
            for _ in range(args.invoices)
        ]
        elapsed, cpu, database_cpu = finalize_concurrently(drafts, clients)
        numbers = sorted(
            number
            for number in Invoice.objects.filter(workspace=workspace).values_list(
                "number", flat=True
            )
            if number is not None
        )
        assert numbers == list(range(1, args.invoices + 1)), "numbers are not 1..N"
        rates[clients] = args.invoices / elapsed
        cpu_ms[clients] = cpu * 1000 / args.invoices
        database = (
            ""
            if database_cpu is None
            else (f", PostgreSQL {database_cpu * 1000 / args.invoices:.1f} ms")
        )
        print(
            f"clients={clients}: {args.invoices / elapsed:7.1f} invoices finalized/s "
            f"({args.invoices} in {elapsed:.2f} s; numbers 1..{args.invoices}, no gap); "
            f"CPU per finalize: this process {cpu_ms[clients]:.1f} ms{database}",
            file=text,
        )

    invoice = Invoice.objects.select_related("document").filter(number=1).latest("created_at")
    html = render.document_html(invoice)
    render.document_pdf_render(invoice)  # warm up fonts and caches once for both sides

    # Alternated, so that load from elsewhere on the machine hits both sides alike.
    ours, bare = [], []
    for _ in range(args.renders):
        began = time.perf_counter()
        render.document_pdf_render(invoice)
        middle = time.perf_counter()
        weasyprint.HTML(string=html).write_pdf()
        ours.append(middle - began)
        bare.append(time.perf_counter() - middle)
    size = len(render.document_pdf_render(invoice))
    print(
        f"PDF of one invoice ({LINES_PER_INVOICE} lines, {size / 1024:.0f} KiB), median of "
        f"{args.renders}: ours {median(ours) * 1000:.0f} ms (database, template and "
        f"WeasyPrint), bare WeasyPrint on the same HTML {median(bare) * 1000:.0f} ms, "
        f"ratio {median(ours) / median(bare):.2f}",
        file=text,
    )
    print(f"(generated {timezone.now():%Y-%m-%d %H:%M} UTC)", file=text)
    if args.json:
        print(json.dumps({
            "bench": "finalize",
            "figure": f"finalize, {args.clients[0]} client(s), invoices/s",
            "value": round(rates[args.clients[0]], 1), "baseline": None,
            "baseline_name": "", "ratio": None, "goal": ">= 100/s on 1 client",
            "met": args.clients[0] == 1 and rates[1] >= 100,
            "rates_by_clients": rates,
            "cpu_ms_per_finalize_by_clients": {k: round(v, 2) for k, v in cpu_ms.items()},
            "pdf_ratio_to_bare_weasyprint": round(median(ours) / median(bare), 3),
        }))  # fmt: skip


if __name__ == "__main__":
    main()
