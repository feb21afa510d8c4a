"""JSON columns: one encoder (billing.encoders) for dates, datetimes and Decimals, on every
model JSONField, so a value a service stores never fails to serialize (a 500)."""

import datetime
import json
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models

from billing.encoders import JSONDecoder, JSONEncoder
from catalog.tests.factories import PlanFactory
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from procurement.models import Purchase
from procurement.tests.factories import SupplierFactory
from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db

REFERENCE = {"document": "801", "serial": "OC-4521", "date": "2026-03-02", "code": None}
NEW_REFERENCE = {"document": "802", "serial": "NP-77", "date": "2026-03-05"}


def test_every_model_json_field_uses_the_kernel_encoder_and_decoder() -> None:
    fields = [
        f"{model.__name__}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.JSONField)
        and (field.encoder is not JSONEncoder or field.decoder is not JSONDecoder)
    ]
    assert fields == []


def test_the_encoder_writes_dates_as_iso_and_decimals_as_exact_numbers() -> None:
    value = {
        "date": datetime.date(2026, 3, 2),
        "at": datetime.datetime(2026, 3, 2, 12, 30, tzinfo=datetime.UTC),
        "amount": Decimal("12345678901234567.89"),
        "rate": [Decimal("0.1"), 1, 2.5, "ñ"],
    }
    text = json.dumps(value, cls=JSONEncoder)
    assert text == (
        '{"date": "2026-03-02", "at": "2026-03-02T12:30:00Z", '
        '"amount": 12345678901234567.89, "rate": [0.1, 1, 2.5, "\\u00f1"]}'
    )
    assert json.loads(text, parse_float=Decimal)["amount"] == Decimal("12345678901234567.89")
    with pytest.raises(ValueError):
        json.dumps({"x": Decimal("NaN")}, cls=JSONEncoder)


def _stored_references(model: type[models.Model], pk: str) -> list[dict]:
    return model._default_manager.values_list("references", flat=True).get(pk=pk)  # type: ignore[no-any-return]


def _assert_references_round_trip(tenant, path, model, body) -> None:  # type: ignore[no-untyped-def]
    created = tenant.client.post(path, {**body, "references": [REFERENCE]}, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["references"][0]["date"] == "2026-03-02"
    assert _stored_references(model, pk)[0]["date"] == "2026-03-02"

    for method in ("patch", "put"):
        update = {"references": [NEW_REFERENCE]} if method == "patch" else body
        if method == "put":
            update = {**update, "references": [REFERENCE, NEW_REFERENCE]}
        updated = getattr(tenant.client, method)(f"{path}{pk}/", update, format="json")
        assert updated.status_code == 200, (method, updated.json())
        assert updated.json()["references"][-1]["date"] == "2026-03-05"
        assert _stored_references(model, pk)[-1]["date"] == "2026-03-05"
        assert tenant.client.get(f"{path}{pk}/").json()["references"][-1]["date"] == "2026-03-05"


def test_invoice_references_are_stored_with_iso_dates(tenant) -> None:  # type: ignore[no-untyped-def]
    body = {
        "customer": CustomerFactory(workspace=tenant.workspace).id,
        "document": 33,
        "date": "2026-03-31",
        "lines": [{"name": "Plan Pro", "amount": "10000"}],
    }
    _assert_references_round_trip(tenant, "/invoices/", Invoice, body)


def test_subscription_references_are_stored_with_iso_dates(tenant) -> None:  # type: ignore[no-untyped-def]
    body = {
        "customer": CustomerFactory(workspace=tenant.workspace).id,
        "lines": [{"plan": PlanFactory(workspace=tenant.workspace).id, "quantity": 1}],
    }
    _assert_references_round_trip(tenant, "/subscriptions/", Subscription, body)


def test_purchase_references_are_stored_with_iso_dates(tenant) -> None:  # type: ignore[no-untyped-def]
    body = {
        "supplier": SupplierFactory(workspace=tenant.workspace).pk,
        "document": 33,
        "number": 1001,
        "date": "2026-02-10",
        "lines": [{"name": "Papel", "amount": "1000"}],
    }
    _assert_references_round_trip(tenant, "/purchases/", Purchase, body)
