"""Every benchmark at a small size, then one table: `make bench`.

    python bench/run_all.py [--only read cycle ...] [--markdown]

Runs each script of bench/ as its own process with `--json` (each ends its output with
one JSON line of its figures) and prints, per benchmark, the figure, its baseline from
the same run, their ratio and the goal. A script that fails is a row saying so, and the
run goes on; the exit status is 1 if any failed. The sizes keep the whole run under three
minutes on two cores, loaded by other work (about two when quiet), while large enough that
a few requests or a slow start do not swing a figure; each script takes larger ones on its
own command line. Each script's wall time is printed as it ends.

Each script runs on a database of its own, copied from a migrated, empty template just
before it starts and dropped after: BENCH_DATABASE_URL's name with `_run` (the copy) and
`_run_template` appended. Every run so starts from the same empty tables whatever earlier
runs left (the cycle's plans change with the subscriptions table's size), and
BENCH_DATABASE_URL's own database is left alone.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.environment import drop_database, fresh_database, prepare_template

ROOT = Path(__file__).resolve().parent.parent

SCRIPTS: dict[str, list[str]] = {
    "read": ["--requests", "2500"],
    "cycle": ["--subscriptions", "3000"],
    "finalize": ["--invoices", "300", "--clients", "1", "4", "--renders", "5"],
    "webhooks": ["--events", "400", "--concurrency", "1", "4"],
    "ingest": ["--requests", "90", "--clients", "2", "--workers", "2", "--rounds", "3"],
    "usage_query": ["--events", "100000", "--customers", "1000", "--windows", "1000"],
}
TIMEOUT_SECONDS = 900


def run(name: str, database_url: str) -> dict:
    command = [sys.executable, str(ROOT / "bench" / f"{name}.py"), *SCRIPTS[name], "--json"]
    env = {**os.environ, "BENCH_DATABASE_URL": database_url, "BENCH_FRESH_DATABASE": database_url}
    fresh_database(database_url)
    began = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        return {"bench": name, "error": f"no answer within {TIMEOUT_SECONDS} s"}
    finally:
        drop_database(database_url)
    seconds = time.perf_counter() - began
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            result: dict = json.loads(line)
            result["seconds"] = round(seconds, 1)
            return result
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return {"bench": name, "error": f"exit {done.returncode}: " + " / ".join(tail)}


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def table(results: list[dict], markdown: bool) -> str:
    head = ["bench", "figure", "value", "baseline (same run)", "ratio", "goal", "met"]
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["bench"], "FAILED: " + r["error"][:160], "", "", "", "", ""])
            continue
        baseline = _number(r.get("baseline"))
        if r.get("baseline_name"):
            baseline += f" ({r['baseline_name']})"
        met = {True: "yes", False: "no", None: "—"}[r.get("met")]
        ratio = r.get("ratio")
        rows.append([
            r["bench"], r["figure"], _number(r["value"]), baseline,
            "—" if ratio is None else f"{ratio:.2f}", r.get("goal") or "—", met,
        ])  # fmt: skip
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(len(head))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [head, *rows]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="+", choices=list(SCRIPTS), default=list(SCRIPTS))
    parser.add_argument("--markdown", action="store_true", help="the table as Markdown")
    args = parser.parse_args()
    database_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/billing_bench"
    )
    run_url = database_url + "_run"
    prepare_template(run_url)
    results = []
    for name in args.only:
        print(f"running bench/{name}.py {' '.join(SCRIPTS[name])} ...", end=" ", flush=True)
        results.append(run(name, run_url))
        print(f"{results[-1].get('seconds', '?')} s", flush=True)
    print(f"\n{os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC")
    print(table(results, args.markdown))
    sys.exit(1 if any("error" in r for r in results) else 0)


if __name__ == "__main__":
    main()
