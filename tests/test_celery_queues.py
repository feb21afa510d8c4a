"""Every task runs on a named queue that the workers consume, and tolerates keyword
arguments it does not know (a message queued by another release)."""

import inspect
import re

import pytest
import yaml
from django.conf import settings

from billing.tasks import purge_idempotency_keys
from config.celery import app as celery_app
from tests.workers import ROOT, worker_queues
from webhooks.tasks import publish_event

QUEUES = {"webhooks", "billing", "documents", "agency", "default"}


def _project_task_names() -> list[str]:
    celery_app.loader.import_default_modules()  # what a worker does: discover every tasks.py
    names = sorted(name for name in celery_app.tasks if not name.startswith("celery."))
    assert "webhooks.tasks.send_delivery" in names  # the apps' tasks were discovered
    return names


def test_the_named_queues_are_declared_and_consumed_by_the_test_workers() -> None:
    assert {queue.name for queue in celery_app.conf.task_queues} == QUEUES
    assert set(worker_queues().split(",")) == QUEUES
    assert celery_app.conf.task_default_queue == "default"


def test_every_project_task_is_routed_to_a_named_queue() -> None:
    unrouted = [name for name in _project_task_names() if name not in settings.CELERY_TASK_ROUTES]
    assert unrouted == []
    for name in _project_task_names():
        queue = celery_app.amqp.router.route({}, name)["queue"]
        assert queue.name == settings.CELERY_TASK_ROUTES[name]["queue"]
        assert queue.name in QUEUES


def test_every_route_and_beat_entry_names_a_registered_task() -> None:
    registered = set(_project_task_names())
    assert set(settings.CELERY_TASK_ROUTES) <= registered
    assert {entry["task"] for entry in celery_app.conf.beat_schedule.values()} <= registered


def test_every_project_task_accepts_unknown_keyword_arguments() -> None:
    strict = [
        name
        for name in _project_task_names()
        if not any(
            parameter.kind is inspect.Parameter.VAR_KEYWORD
            for parameter in inspect.signature(celery_app.tasks[name].run).parameters.values()
        )
    ]
    assert strict == []


@pytest.mark.django_db
def test_a_task_called_with_an_unknown_keyword_argument_runs() -> None:
    # As a worker would run a message from a release that added an argument.
    assert purge_idempotency_keys.apply(kwargs={"batch_size": 100}).get() == 0
    assert publish_event.apply(kwargs={"event_id": "evt_gone", "priority": 1}).get() is None


def _consumed_queues(command: str) -> set[str]:
    match = re.search(r"(?:-Q|--queues)[ =](\S+)", command)
    assert match, command
    return set(match.group(1).split(","))


def test_the_procfile_and_compose_workers_consume_every_queue() -> None:
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert _consumed_queues(procfile["worker"]) == QUEUES
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert _consumed_queues(compose["services"]["worker"]["command"]) == QUEUES


def test_every_periodic_message_expires_before_the_next_is_sent() -> None:
    for name, entry in celery_app.conf.beat_schedule.items():
        schedule = entry["schedule"]
        if isinstance(schedule, (int, float)):
            interval = float(schedule)
        else:  # a crontab that runs every day: its runs are spread evenly over the day
            interval = 86400 / (len(schedule.hour) * len(schedule.minute))
        expires = entry.get("options", {}).get("expires")
        assert expires is not None and 0 < expires < interval, name
