"""The Celery application. Tasks are acknowledged late so a worker that dies mid-task
leaves the message on the broker; every task must therefore be idempotent."""

import os
from pathlib import Path

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Billing cycles and their collection run this often (seconds); tests shorten it.
BILLING_CYCLE_INTERVAL = float(os.environ.get("BILLING_CYCLE_INTERVAL_SECONDS", "60"))

app = Celery("billing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    # Publishing happens in web requests: fail fast and let the outbox sweep retry.
    broker_connection_timeout=3,
    timezone="UTC",
    beat_schedule={
        "purge-idempotency-keys": {
            "task": "billing.tasks.purge_idempotency_keys",
            "schedule": crontab(minute=17),
        },
        "publish-pending-events": {
            "task": "billing.tasks.publish_pending_events",
            "schedule": 30.0,
        },
        "send-due-webhook-deliveries": {
            "task": "webhooks.tasks.send_due_deliveries",
            "schedule": 15.0,
        },
        "process-tax-agency-queue": {
            "task": "invoices.tasks.process_tax_agency_queue",
            "schedule": 15.0,
        },
        "render-missing-pdfs": {
            "task": "invoices.tasks.render_missing_pdfs",
            "schedule": 300.0,
        },
        "run-billing-cycles": {
            "task": "subscriptions.tasks.run_billing_cycles",
            "schedule": BILLING_CYCLE_INTERVAL,
        },
        "resume-paused-subscriptions": {
            "task": "subscriptions.tasks.resume_paused_subscriptions",
            "schedule": 300.0,
        },
        "collect-due-periods": {
            "task": "subscriptions.tasks.collect_due_periods",
            "schedule": BILLING_CYCLE_INTERVAL,
        },
        "ensure-event-partitions": {
            "task": "metering.tasks.ensure_event_partitions",
            "schedule": crontab(minute=41, hour=3),
        },
        "expire-due-checkouts": {
            "task": "payments.tasks.expire_due_checkouts",
            "schedule": 60.0,
        },
    },
)
app.autodiscover_tasks()

# The filesystem broker needs its folders before the first message is written.
for option in ("data_folder_in", "data_folder_out", "control_folder"):
    folder = (app.conf.broker_transport_options or {}).get(option)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
