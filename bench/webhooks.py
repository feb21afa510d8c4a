"""Webhook delivery throughput with a real Celery worker, against a local receiver.

    python bench/webhooks.py [--events 500] [--concurrency 1 4] [--batch 1] [--json]

Needs PostgreSQL and Redis (BENCH_DATABASE_URL, default a `billing_bench` database on
127.0.0.1; BENCH_BROKER_URL, default redis://127.0.0.1:6379/13). The receiver listens on
a port the system picks. Each run's clock starts once its new worker has delivered one
event of its own (a long-lived worker's start is not part of a delivery). Prints, for
each worker concurrency: deliveries per second, the worker process's CPU time per
delivery, the share of worker time spent outside the HTTP calls
(with one worker thread, wall time is worker time; a batch's calls, made a few side by
side, count for their longest or their sum shared among those few, whichever is more),
and the ratio to a bare loop that
POSTs the same bodies to the same receiver in this run. Events are published one message
each, as the API publishes them; `--batch N` hands N events to each message instead, as
a batch writer (the billing cycle) can. The messages are sent by a process of their own,
as the API's would be: sent from this one, whose threads serve the receiver, their
sending held the receiver's interpreter lock for most of the run (the bare loop's
receiver has no such neighbour). With `--json`, one JSON line of
the same figures instead. A run whose deliveries are not all done within `--timeout`
seconds is reported as stalled, with how many were delivered.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.environment import ROOT, bench_environment, ensure_database

BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
DATABASE_URL = bench_environment(
    "billing_bench", CELERY_BROKER_URL=BROKER_URL, WEBHOOKS_ALLOW_PRIVATE_URLS="true"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--batch", type=int, default=1, help="events per publish message")
    parser.add_argument("--json", action="store_true", help="print one JSON line of figures")
    parser.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publisher:
        _publish_from_stdin(args.batch)
        return
    say = (lambda line: None) if args.json else print
    ensure_database(DATABASE_URL)

    import django

    django.setup()
    import httpx
    import redis
    from django.db.models import Max, Sum
    from django.utils import timezone

    from billing.models import Event
    from billing.services.workspaces import workspace_create
    from config.celery import app
    from tests.receiver import running_receiver
    from webhooks import services
    from webhooks.choices import DeliveryStatus
    from webhooks.models import Delivery, DeliveryAttempt
    from webhooks.services import payload_body

    workspace = workspace_create(name="Bench", country_code="CL")
    say(f"events per run: {args.events}; broker {BROKER_URL}; database {DATABASE_URL}")
    runs = []
    with running_receiver() as receiver:
        endpoint = services.endpoint_create(
            workspace=workspace, test_mode=True, url=receiver.url, events=["*"]
        )
        bodies = []
        for concurrency in args.concurrency:
            redis.Redis.from_url(BROKER_URL).flushdb()
            log = open(ROOT / "var" / f"bench-worker-{concurrency}.log", "w")  # noqa: SIM115
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-l",
                    "warning",
                    "--pool",
                    "threads",
                    "-c",
                    str(concurrency),
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            # The clock starts once the worker has delivered one event of its own: its
            # start (seconds of CPU on a busy machine) and its first connections are
            # paid once per process, not per delivery. The run's events are written
            # after, so that this publication cannot take any of them along.
            warm_up = Event.objects.create(
                workspace=workspace,
                test_mode=True,
                type="customer.updated",
                object_id=f"cus_bench{concurrency}_warm_up",
                sequence=1,
                data={"i": -1},
            )
            app.send_task("webhooks.tasks.publish_event", kwargs={"event_id": warm_up.id})
            warm = Delivery.objects.filter(event=warm_up, status=DeliveryStatus.SUCCEEDED)
            deadline = time.monotonic() + args.timeout
            while not warm.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            events = Event.objects.bulk_create(
                Event(
                    workspace=workspace,
                    test_mode=True,
                    type="customer.updated",
                    object_id=f"cus_bench{concurrency}_{i}",
                    sequence=1,
                    data={"i": i},
                )
                for i in range(args.events)
            )
            bodies = [payload_body(e) for e in events]
            ids = [e.id for e in events]
            # Started, and connected to the broker, before the clock starts (as the worker).
            publisher = subprocess.Popen(
                [sys.executable, __file__, "--publisher", "--batch", str(args.batch)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert publisher.stdin is not None and publisher.stdout is not None
            if publisher.stdout.readline().strip() != "ready":
                raise SystemExit("the publisher did not start")
            started = time.perf_counter()
            cpu_started = _process_cpu_seconds(worker.pid)
            publisher.stdin.write(json.dumps(ids) + "\n")
            publisher.stdin.close()
            done = Delivery.objects.filter(event_id__in=ids, status=DeliveryStatus.SUCCEEDED)
            try:
                deadline = time.monotonic() + args.timeout
                delivered = done.count()
                while delivered < len(ids) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    delivered = done.count()
                elapsed = time.perf_counter() - started
                worker_cpu = _process_cpu_seconds(worker.pid) - cpu_started
            finally:
                worker.terminate()
                worker.wait()
                publisher.wait()
            # A batch's calls are recorded together (one `attempted_at`) and run up to
            # `_PARALLEL_POSTS` side by side, each thread making its share one after
            # another: its time in HTTP is at least its longest call, and at least their
            # sum over that many threads (a batch of 48 is six calls per thread).
            batches = (
                DeliveryAttempt.objects.filter(delivery__event_id__in=ids)
                .values("attempted_at")
                .annotate(longest=Max("duration_ms"), total=Sum("duration_ms"))
            )
            http_ms = sum(
                max(batch["longest"], batch["total"] / services._PARALLEL_POSTS)
                for batch in batches
            )
            run = {
                "threads": concurrency,
                "delivered": delivered,
                "stalled": delivered < len(ids),
                "seconds": round(elapsed, 3),
                "deliveries_per_s": round(delivered / elapsed, 1),
                "worker_cpu_ms_per_delivery": round(worker_cpu * 1000 / max(delivered, 1), 2),
            }
            line = (
                f"worker threads={concurrency}: {run['deliveries_per_s']:7.1f} deliveries/s "
                f"({elapsed:.2f} s); worker CPU {run['worker_cpu_ms_per_delivery']:.2f} ms "
                "per delivery"
            )
            if concurrency == 1:
                run["outside_http_share"] = round(1 - ((http_ms or 0) / 1000) / elapsed, 3)
                line += f"; time outside the HTTP call: {run['outside_http_share']:.0%}"
            if run["stalled"]:
                line += f"; STALLED: {delivered}/{len(ids)} delivered, see {log.name}"
            runs.append(run)
            say(line)

        # Baseline: the same bodies POSTed in a bare loop, one at a time.
        started = time.perf_counter()
        with httpx.Client() as client:
            for body in bodies:
                client.post(
                    receiver.url, content=body, headers={"content-type": "application/json"}
                )
        bare = len(bodies) / (time.perf_counter() - started)
        say(f"bare httpx loop (1 client): {bare:7.1f} posts/s")
        for run in runs:
            run["ratio_to_bare"] = round(run["deliveries_per_s"] / bare, 3)
            say(f"worker threads={run['threads']}: {run['ratio_to_bare']:.0%} of the bare loop")
        del endpoint
    say(f"(generated {timezone.now():%Y-%m-%d %H:%M} UTC)")
    if args.json:
        best = max(runs, key=lambda run: run["deliveries_per_s"])
        print(json.dumps({
            "bench": "webhooks", "figure": "webhook deliveries/s (best worker concurrency)",
            "value": best["deliveries_per_s"], "baseline": round(bare, 1),
            "baseline_name": "bare httpx loop, same bodies", "ratio": best["ratio_to_bare"],
            "goal": ">= 0.5", "met": best["ratio_to_bare"] >= 0.5, "events": args.events,
            "batch": args.batch, "runs": runs,
        }))  # fmt: skip
    if any(run["stalled"] for run in runs):
        raise SystemExit(1)


def _publish_from_stdin(batch: int) -> None:
    """The publishing side of a run: connect, say "ready", then send the messages for
    the event ids read from stdin (one JSON list), one per event or `batch` per message."""
    import django

    django.setup()
    from config.celery import app

    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection()
    print("ready", flush=True)
    ids = json.loads(sys.stdin.readline())
    if batch == 1:
        for event_id in ids:
            app.send_task("webhooks.tasks.publish_event", kwargs={"event_id": event_id})
    else:
        for offset in range(0, len(ids), batch):
            app.send_task(
                "webhooks.tasks.publish_events", kwargs={"event_ids": ids[offset : offset + batch]}
            )


def _process_cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
