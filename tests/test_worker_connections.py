"""A worker keeps its database connection from one task to the next, as the web server
does between requests (CONN_MAX_AGE): a new PostgreSQL connection per task was most of a
short task's time."""

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection

from config.celery import app as celery_app
from webhooks.tasks import send_due_deliveries

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def run_task_signals(fixup: DjangoWorkerFixup) -> None:
    """What the worker does around a task: Celery's Django fixup, then the project's own
    handlers."""
    fixup.on_task_prerun(sender=send_due_deliveries)
    task_prerun.send(sender=send_due_deliveries)
    fixup.on_task_postrun(sender=send_due_deliveries)
    task_postrun.send(sender=send_due_deliveries)


def test_the_database_connection_is_kept_between_tasks(settings):
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 60
    connection.close()
    connection.ensure_connection()  # connected now, with CONN_MAX_AGE's deadline
    fixup = DjangoWorkerFixup(celery_app)
    kept = connection.connection

    for _ in range(3):
        run_task_signals(fixup)
        assert connection.connection is kept


@pytest.mark.postgresql
def test_a_connection_past_conn_max_age_is_closed_after_a_task():
    connection.ensure_connection()
    connection.close_at = 0  # past its age
    run_task_signals(DjangoWorkerFixup(celery_app))
    assert connection.connection is None
