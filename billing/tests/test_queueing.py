"""A queued message's argument headers are written as Celery writes them; a send that
may be left to a sweep tries the broker once, and not again for a while once it failed."""

import socket
import threading
from collections.abc import Iterator

import pytest
from celery import current_app
from celery.utils.saferepr import saferepr
from django.conf import settings

from billing import queueing
from billing.queueing import BrokerUnreachable, message_reprs
from billing.services.events import event_publish


@pytest.mark.parametrize(
    "kwargs",
    [
        {"event_id": "evt_01KBX0Q5T3S7N9ZC4M2E8R6W1Y"},
        {"model_label": "invoices.Invoice", "document_id": "inv_01KBX0Q5T3S7N9ZC4M2E8R6W1Y"},
        {"name": "Año ñandú", "empty": ""},
        {},
    ],
)
def test_plain_text_arguments_are_written_as_celerys_saferepr_writes_them(kwargs):
    amqp = current_app.amqp
    maxlevels = current_app.conf.task_repr_maxlevels

    assert message_reprs(kwargs) == {
        "argsrepr": saferepr((), amqp.argsrepr_maxsize, maxlevels=maxlevels),
        "kwargsrepr": saferepr(kwargs, amqp.kwargsrepr_maxsize, maxlevels=maxlevels),
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"note": "it's"},
        {"path": "a\\b"},
        {"line": "a\nb"},
        {"count": 3},
        {"ids": ["a", "b"]},
        {"id": "x" * 2000},
    ],
)
def test_other_arguments_are_left_to_celery(kwargs):
    assert message_reprs(kwargs) == {}


@pytest.fixture
def broken_broker() -> Iterator[list[object]]:
    """Publishing pointed at a server that hangs up on every connection; yields the list
    of connections it took."""
    taken: list[object] = []
    server = socket.create_server(("127.0.0.1", 0))

    def hang_up() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return  # the server was closed
            taken.append(connection)
            connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    previous = current_app.conf.broker_url
    current_app.conf.broker_url = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    current_app._pool = None
    current_app.amqp._producer_pool = None
    try:
        yield taken
    finally:
        server.close()
        current_app.conf.broker_url = previous
        current_app._pool = None
        current_app.amqp._producer_pool = None


def test_once_the_broker_is_found_unreachable_sends_skip_it_for_a_while(broken_broker):
    with pytest.raises(BrokerUnreachable):
        queueing.task_queue("webhooks.tasks.send_delivery", kwargs={"delivery_id": "x"})
    tried = len(broken_broker)

    event_publish(event_id="evt_01KBX0Q5T3S7N9ZC4M2E8R6W1Y")  # left to the sweep
    with pytest.raises(BrokerUnreachable):
        queueing.task_queue("bulks.tasks.process_bulk", kwargs={"bulk_id": "x"})

    assert tried >= 1
    assert len(broken_broker) == tried


def test_the_broker_is_tried_again_once_the_while_is_over(broken_broker, monkeypatch):
    monkeypatch.setattr(queueing, "BROKER_DOWN_SKIP_SECONDS", 0.0)
    event_publish(event_id="evt_01KBX0Q5T3S7N9ZC4M2E8R6W1Y")
    tried = len(broken_broker)

    event_publish(event_id="evt_01KBX0Q5T3S7N9ZC4M2E8R6W1Y")

    assert len(broken_broker) > tried >= 1


@pytest.fixture
def silent_broker() -> Iterator[None]:
    """Publishing pointed at an address whose connections are never answered, as one
    that drops packets: a listening socket whose queue of connections is full."""
    server = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))  # fills the queue
    previous = current_app.conf.broker_url, current_app.conf.broker_transport_options
    current_app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    current_app.conf.broker_transport_options = settings.REDIS_BROKER_TRANSPORT_OPTIONS
    current_app._pool = None
    current_app.amqp._producer_pool = None
    try:
        yield
    finally:
        filler.close()
        server.close()
        current_app.conf.broker_url, current_app.conf.broker_transport_options = previous
        current_app._pool = None
        current_app.amqp._producer_pool = None


def test_a_broker_that_never_answers_is_given_up_within_seconds(silent_broker):
    outcome: list[BaseException] = []

    def send() -> None:
        try:
            queueing.task_queue("bulks.tasks.process_bulk", kwargs={"bulk_id": "x"})
        except BaseException as exc:  # the outcome is what is checked
            outcome.append(exc)

    sending = threading.Thread(target=send, daemon=True)
    sending.start()
    sending.join(timeout=15)  # the connection timeout is 3 s; the system's is minutes

    assert not sending.is_alive(), "the send still waits for the broker"
    assert [type(exc) for exc in outcome] == [BrokerUnreachable]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("subscriptions.tasks.collect_periods", {"invoice_ids": ["inv_x"]}),
        ("subscriptions.tasks.publish_events", {"event_ids": ["evt_x"]}),
        ("invoices.tasks.render_document_pdf", {"model_label": "invoices.Invoice",
                                                "document_id": "inv_x"}),
    ],
)  # fmt: skip
def test_every_queued_task_tries_the_broker_once(broken_broker, name, kwargs):
    # Each has a beat sweep that takes up what was not queued: a request or a cycle that
    # queues it never waits on the broker's own retries (2 s, then 4 s more).
    with pytest.raises(BrokerUnreachable):
        queueing.task_queue(name, kwargs=kwargs)
    assert len(broken_broker) == 1


def test_a_task_left_to_its_sweep_is_not_raised(broken_broker):
    assert not queueing.task_queue_or_leave("bulks.tasks.process_bulk", kwargs={"bulk_id": "x"})
