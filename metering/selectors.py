"""Reads: meters, features, events, usage records, and who a customer key names."""

from collections.abc import Iterable
from datetime import date
from typing import Any, NamedTuple

import orjson
from django.db.models import Q, QuerySet

from billing.db import prepared_rows
from customers.models import CUSTOMER_ID_PREFIX, Customer
from metering.models import Event, Feature, Meter, UsageRecord
from metering.store import MeterSpec
from subscriptions.choices import BilledKind
from subscriptions.models import BilledPeriod, Subscription


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
    """The customers these keys name (our id or the customer's reference), by key: each
    key names one customer at most (`customer_keys`)."""
    keys = set(keys)
    if not keys:
        return {}
    found = Customer.objects.filter(workspace_id=workspace_id, test_mode=test_mode).filter(
        Q(id__in=keys) | Q(reference__in=keys)
    )
    by_key: dict[str, Customer] = {}
    for customer in found.only("id", "reference"):
        for key in customer_keys(customer_id=customer.pk, reference=customer.reference):
            by_key[key] = customer
    return {key: by_key[key] for key in keys if key in by_key}


class EventCustomer(NamedTuple):
    """The customer a batch's key names, and the span of its usage already invoiced:
    from the start of its first cycle to its latest cycle's start or its final
    invoice's period end (local dates; None when nothing is billed yet)."""

    customer_id: str
    billed_from: date | None
    billed_until: date | None


def event_customers(
    *, workspace_id: str, test_mode: bool, keys: Iterable[str]
) -> dict[str, EventCustomer]:
    """The customers these keys name (our id or the customer's reference), by key, each
    with its invoiced span: one statement, since a batch of events needs both and a second
    query built by the ORM cost the request more than reading them. The keys travel as
    one JSON array, which PostgreSQL unpacks: an IN list of a thousand placeholders, or a
    text[] parameter that the driver quotes element by element in Python, costs more than
    the query. Its text never changes, so it is prepared once per database session: planned
    on every request, it cost PostgreSQL more than running it."""
    keys = list(set(keys))
    if not keys:
        return {}
    sql = (
        "SELECT c.id, c.reference, spans.billed_from, spans.billed_until "
        f"FROM {Customer._meta.db_table} c LEFT JOIN LATERAL ("
        # A cycle's invoice bills the usage before its period; a final one, its period's.
        # Usage counts from the first cycle, at the start of billing (after a trial): it
        # has no billed period when only metered plans are on it, having nothing to bill.
        "SELECT min(coalesce(s.trial_end, s.date_start)) AS billed_from, "
        "max(CASE WHEN p.kind = %s THEN p.period_end ELSE p.period_start END) AS billed_until "
        f"FROM {BilledPeriod._meta.db_table} p "
        f"JOIN {Subscription._meta.db_table} s ON s.id = p.subscription_id "
        "WHERE s.customer_id = c.id AND s.workspace_id = %s AND s.test_mode = %s "
        "AND p.kind IN (%s, %s)) spans ON true "
        "WHERE c.workspace_id = %s AND c.test_mode = %s "
        "AND (c.id = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))) "
        "OR c.reference = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))))"
    )
    keys_json = orjson.dumps(keys).decode()
    params: list[Any] = [
        str(BilledKind.FINAL), workspace_id, test_mode, str(BilledKind.CYCLE),
        str(BilledKind.FINAL), workspace_id, test_mode, keys_json, keys_json,
    ]  # fmt: skip
    by_key: dict[str, EventCustomer] = {}
    for customer_id, reference, billed_from, billed_until in prepared_rows(sql, params):
        found = EventCustomer(customer_id, billed_from, billed_until)
        for key in customer_keys(customer_id=customer_id, reference=reference):
            by_key[key] = found
    return {key: by_key[key] for key in keys if key in by_key}


def customer_keys(*, customer_id: str, reference: str | None) -> tuple[str, ...]:
    """Every key events may name this customer by, each once. A key shaped as our ids names
    the customer with that id only: a reference stored so before such references were
    refused is no key, so that no key names two customers and an id wins."""
    if reference and not reference.startswith(CUSTOMER_ID_PREFIX):
        return (customer_id, reference)
    return (customer_id,)
