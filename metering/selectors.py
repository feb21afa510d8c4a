"""Reads: meters, features, events, usage records, and who a customer key names."""

from collections.abc import Iterable

import orjson
from django.db.models import Q, QuerySet

from billing.db import server_bound_cursor
from customers.models import Customer
from metering.models import Event, Feature, Meter, UsageRecord
from metering.store import MeterSpec


def meter_queryset() -> QuerySet[Meter]:
    return Meter.objects.all()


def feature_queryset() -> QuerySet[Feature]:
    return Feature.objects.select_related("meter")


def event_queryset() -> QuerySet[Event]:
    return Event.objects.all()


def usage_record_queryset() -> QuerySet[UsageRecord]:
    return UsageRecord.objects.all()


def meter_spec(meter: Meter) -> MeterSpec:
    return MeterSpec(
        event_name=meter.event_name,
        aggregation=meter.aggregation,
        field=meter.field,
        filters=tuple((f["key"], tuple(f["values"])) for f in meter.filters),
    )


def customers_by_key(
    *, workspace_id: str, test_mode: bool, keys: Iterable[str]
) -> dict[str, Customer]:
    """The customers these keys name (our id or the customer's reference), by key."""
    keys = set(keys)
    if not keys:
        return {}
    found = Customer.objects.filter(workspace_id=workspace_id, test_mode=test_mode).filter(
        Q(id__in=keys) | Q(reference__in=keys)
    )
    by_key: dict[str, Customer] = {}
    for customer in found.only("id", "reference"):
        by_key[customer.pk] = customer
        if customer.reference:
            by_key[customer.reference] = customer
    return {key: by_key[key] for key in keys if key in by_key}


def customer_ids_by_key(
    *, workspace_id: str, test_mode: bool, keys: Iterable[str]
) -> dict[str, str]:
    """The ids of the customers these keys name (our id or the customer's reference), by
    key. For a batch of events the keys travel as one JSON array, which PostgreSQL
    unpacks: an IN list of a thousand placeholders, or a text[] parameter that the
    driver quotes element by element in Python, costs more than the query."""
    keys = list(set(keys))
    if not keys:
        return {}
    sql = (
        f"SELECT id, reference FROM {Customer._meta.db_table} "
        "WHERE workspace_id = %s AND test_mode = %s "
        "AND (id = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))) "
        "OR reference = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))))"
    )
    keys_json = orjson.dumps(keys).decode()
    by_key: dict[str, str] = {}
    with server_bound_cursor() as cursor:
        cursor.execute(sql, [workspace_id, test_mode, keys_json, keys_json])
        for customer_id, reference in cursor.fetchall():
            by_key[customer_id] = customer_id
            if reference:
                by_key[reference] = customer_id
    return {key: by_key[key] for key in keys if key in by_key}


def customer_keys(customer: Customer) -> tuple[str, ...]:
    """Every key events may name this customer by."""
    return (customer.pk, customer.reference) if customer.reference else (customer.pk,)
