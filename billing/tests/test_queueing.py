"""A queued message's argument headers are written as Celery writes them."""

import pytest
from celery import current_app
from celery.utils.saferepr import saferepr

from billing.queueing import message_reprs


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
