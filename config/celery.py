"""The Celery application. Tasks are acknowledged late so a worker that dies mid-task
leaves the message on the broker; every task must therefore be idempotent."""

import os
from pathlib import Path

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

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
    },
)
app.autodiscover_tasks()

# The filesystem broker needs its folders before the first message is written.
for option in ("data_folder_in", "data_folder_out", "control_folder"):
    folder = (app.conf.broker_transport_options or {}).get(option)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
