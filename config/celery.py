"""The Celery application. Tasks are acknowledged late so a worker that dies mid-task
leaves the message on the broker; every task must therefore be idempotent."""

import os
from pathlib import Path

from celery import Celery, Task, signals
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from kombu.transport import TRANSPORT_ALIASES

from billing.secrets_check import ensure_production_secrets

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# redis:// brokers use Kombu's Redis transport with its command clients kept
# (config/broker.py). Set before any connection resolves the name, which Kombu caches.
TRANSPORT_ALIASES["redis"] = "config.broker:Transport"

# Billing cycles and their collection run this often (seconds); tests shorten it.
BILLING_CYCLE_INTERVAL = float(os.environ.get("BILLING_CYCLE_INTERVAL_SECONDS", "60"))


def _periodic(task: str, every: float, at: crontab | None = None) -> dict[str, object]:
    """A beat entry sent every `every` seconds (or `at` a crontab that often), whose
    message expires before the next one is sent: a worker that is behind drops stale
    sweeps instead of running a backlog of them one after another."""
    return {"task": task, "schedule": at or every, "options": {"expires": every * 0.8}}


app = Celery("billing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    # A worker that cannot reach its broker when it starts exits with an error at once
    # instead of retrying quietly for hours: a wrong URL shows as a crashed process, and
    # the supervisor (compose's restart policy) starts it again once the broker is up.
    # A connection lost later is still retried.
    broker_connection_retry_on_startup=False,
    # Publishing happens in web requests: fail fast and let the outbox sweep retry.
    broker_connection_timeout=3,
    timezone="UTC",
    # Celery's Django fixup closes the database connections before and after every task
    # unless this is set: a new PostgreSQL connection per task, most of a short task's
    # time. With it, the fixup closes them only every this many tasks; in between,
    # Django's own rules apply (CONN_MAX_AGE, health checks: `reuse_database_connections`).
    CELERY_DB_REUSE_MAX=1000,
    beat_schedule={
        "purge-idempotency-keys": _periodic(
            "billing.tasks.purge_idempotency_keys", 3600.0, at=crontab(minute=17)
        ),
        "publish-pending-events": _periodic("billing.tasks.publish_pending_events", 30.0),
        "send-due-webhook-deliveries": _periodic("webhooks.tasks.send_due_deliveries", 15.0),
        "process-tax-agency-queue": _periodic("invoices.tasks.process_tax_agency_queue", 15.0),
        "render-missing-pdfs": _periodic("invoices.tasks.render_missing_pdfs", 300.0),
        "run-billing-cycles": _periodic(
            "subscriptions.tasks.run_billing_cycles", BILLING_CYCLE_INTERVAL
        ),
        "resume-paused-subscriptions": _periodic(
            "subscriptions.tasks.resume_paused_subscriptions", 300.0
        ),
        "collect-due-periods": _periodic(
            "subscriptions.tasks.collect_due_periods", BILLING_CYCLE_INTERVAL
        ),
        "send-due-reminders": _periodic("reminders.tasks.send_due_reminders", 300.0),
        "process-unfinished-bulks": _periodic("bulks.tasks.process_unfinished_bulks", 60.0),
        "ensure-event-partitions": _periodic(
            "metering.tasks.ensure_event_partitions", 86400.0, at=crontab(minute=41, hour=3)
        ),
        "expire-due-checkouts": _periodic("payments.tasks.expire_due_checkouts", 60.0),
        "process-received-stripe-events": _periodic(
            "payments.tasks.process_received_stripe_events", 30.0
        ),
        "queue-unstarted-clock-jobs": _periodic(
            "subscriptions.tasks.queue_unstarted_clock_jobs", 30.0
        ),
    },
)
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def reuse_database_connections(sender: Task | None = None, **kwargs: object) -> None:
    # What Django does around each request: drop a connection past CONN_MAX_AGE or left
    # unusable (and check the next one's health), keep the others. Not around a task run
    # in the caller's process (eagerly), whose connection may be in a transaction.
    if sender is None or getattr(sender.request, "is_eager", False):
        return
    close_old_connections()


@signals.worker_init.connect
@signals.beat_init.connect
def refuse_forgeable_keys(**kwargs: object) -> None:
    # Celery logs and swallows exceptions from signal handlers; SystemExit is not
    # swallowed, so a worker or beat on a weak key stops instead of running.
    try:
        ensure_production_secrets()
    except ImproperlyConfigured as exc:
        raise SystemExit(str(exc)) from exc


# The filesystem broker needs its folders before the first message is written.
for option in ("data_folder_in", "data_folder_out", "control_folder"):
    folder = (app.conf.broker_transport_options or {}).get(option)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
