"""Reads: meters, features, events, usage records, and who a customer key names."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any, NamedTuple

import orjson
from django.db.models import Q, QuerySet

from billing.db import prepared_results
from catalog.choices import UsageScheme
from catalog.models import Plan
from customers.models import CUSTOMER_ID_PREFIX, Customer, FormerReference
from invoices.choices import LineType
from invoices.models import InvoiceLine
from metering.models import Event, Feature, Meter, UsageRecord
from metering.store import MeterSpec, filter_texts
from subscriptions.choices import BilledKind
from subscriptions.models import BilledPeriod, EndedLine, Subscription, SubscriptionLine
from subscriptions.usage import usage_lock_statements


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
    formerly = FormerReference.objects.filter(
        workspace_id=workspace_id, test_mode=test_mode, reference__in=keys
    ).values("customer_id")
    found = Customer.objects.filter(workspace_id=workspace_id, test_mode=test_mode).filter(
        Q(id__in=keys) | Q(reference__in=keys) | Q(id__in=formerly)
    )
    customers = list(found.only("id", "reference"))
    former = former_references(
        workspace_id=workspace_id, test_mode=test_mode, customer_ids=[c.pk for c in customers]
    )
    by_key: dict[str, Customer] = {}
    for customer in customers:
        for key in customer_keys(
            customer_id=customer.pk,
            reference=customer.reference,
            former=former.get(customer.pk, ()),
        ):
            by_key[key] = customer
    return {key: by_key[key] for key in keys if key in by_key}


def former_references(
    *, workspace_id: str, test_mode: bool, customer_ids: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """The references each customer had before its current one (customers.FormerReference)."""
    rows = FormerReference.objects.filter(
        workspace_id=workspace_id, test_mode=test_mode, customer_id__in=set(customer_ids)
    ).values_list("customer_id", "reference")
    former: dict[str, list[str]] = defaultdict(list)
    for customer_id, reference in rows:
        former[customer_id].append(reference)
    return {customer_id: tuple(references) for customer_id, references in former.items()}


class BilledSpan(NamedTuple):
    """Usage a meter counts that a subscription has invoiced: from the start of its
    billing to its latest invoice that billed it (local dates, the end excluded)."""

    event_name: str
    filters: tuple[tuple[str, frozenset[str]], ...]  # each key's `distinct_text`: one of
    billed_from: date
    billed_until: date


class EventCustomer(NamedTuple):
    """The customer a batch's key names, and the usage already invoiced on its
    subscriptions, by the meters of the batch's event names (none when nothing is)."""

    customer_id: str
    billed: tuple[BilledSpan, ...]


# What a subscription has invoiced of each meter: up to its latest period for the meters
# of its metered lines and of the lines removed whose usage is still to bill, and up to
# the latest invoice with a usage line of a line removed since. A cycle's invoice bills
# the usage before its period, a final one its period's; usage counts from the first
# cycle, at the start of billing (after a trial).
_BILLED_UNTIL = "CASE WHEN p.kind = %s THEN p.period_end ELSE p.period_start END"
_BILLED = (
    f"SELECT l.plan_id, coalesce(s.trial_end, s.date_start) AS billed_from, "
    f"(SELECT max({_BILLED_UNTIL}) FROM {BilledPeriod._meta.db_table} p "
    "WHERE p.subscription_id = s.id AND p.kind IN (%s, %s)) AS billed_until "
    f"FROM {Subscription._meta.db_table} s JOIN ("
    f"SELECT subscription_id, plan_id FROM {SubscriptionLine._meta.db_table} UNION ALL "
    f"SELECT subscription_id, plan_id FROM {EndedLine._meta.db_table}"
    ") l ON l.subscription_id = s.id "
    "WHERE s.customer_id = c.id AND s.workspace_id = %s AND s.test_mode = %s "
    "AND l.plan_id = ANY(ARRAY(SELECT id FROM metered)) "
    "UNION ALL "
    f"SELECT il.plan_id, coalesce(s.trial_end, s.date_start), {_BILLED_UNTIL} "
    f"FROM {Subscription._meta.db_table} s "
    f"JOIN {BilledPeriod._meta.db_table} p ON p.subscription_id = s.id AND p.kind IN (%s, %s) "
    f"JOIN {InvoiceLine._meta.db_table} il ON il.invoice_id = p.invoice_id "
    "AND il.line_type = %s AND il.plan_id = ANY(ARRAY(SELECT id FROM metered)) "
    "WHERE s.customer_id = c.id AND s.workspace_id = %s AND s.test_mode = %s"
)
_EVENT_CUSTOMERS = (
    # The metered plans of the tenant counting the batch's event names, with their meters.
    f"WITH metered AS (SELECT pl.id, m.event_name, m.filters FROM {Plan._meta.db_table} pl "
    f"JOIN {Meter._meta.db_table} m ON m.id = pl.meter_id "
    "WHERE m.workspace_id = %s AND m.test_mode = %s AND pl.usage_scheme = %s "
    "AND m.event_name = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))) "
    "SELECT c.id, c.reference, spans.event_name, spans.filters, spans.billed_from, "
    "spans.billed_until, "
    f"ARRAY(SELECT f.reference FROM {FormerReference._meta.db_table} f "
    "WHERE f.customer_id = c.id ORDER BY f.reference) AS former "
    f"FROM {Customer._meta.db_table} c LEFT JOIN LATERAL ("
    "SELECT m.event_name, m.filters, min(u.billed_from) AS billed_from, "
    "max(u.billed_until) AS billed_until "
    f"FROM ({_BILLED}) u JOIN metered m ON m.id = u.plan_id "
    # Read only when a meter counts the batch's events: a one-time test.
    "WHERE EXISTS (SELECT 1 FROM metered) AND u.billed_until IS NOT NULL "
    "GROUP BY m.event_name, m.filters) spans ON true "
    "WHERE c.workspace_id = %s AND c.test_mode = %s "
    "AND (c.id = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))) "
    "OR c.reference = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))) "
    f"OR c.id IN (SELECT f.customer_id FROM {FormerReference._meta.db_table} f "
    "WHERE f.workspace_id = c.workspace_id AND f.test_mode = c.test_mode "
    "AND f.reference = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))))"
)


def event_customers(
    *, workspace_id: str, test_mode: bool, keys: Iterable[str], event_names: Iterable[str]
) -> dict[str, EventCustomer]:
    """The customers these keys name (our id or the customer's reference), by key, each
    with the usage its subscriptions have invoiced of the meters counting `event_names`.

    Taken first, in the same round trip, the tenant's usage lock held shared
    (subscriptions.usage): what is read here is then what is invoiced until this
    transaction ends, since a cycle counting the tenant's usage holds it exclusively
    until its invoices are committed. Run in an ingesting transaction, before the insert.

    One statement, since a batch of events needs both and a second query built by the
    ORM cost the request more than reading them. The keys travel as one JSON array, which
    PostgreSQL unpacks: an IN list of a thousand placeholders, or a text[] parameter that
    the driver quotes element by element in Python, costs more than the query. Its text
    never changes, so it is prepared once per database session: planned on every request,
    it cost PostgreSQL more than running it."""
    keys = list(set(keys))
    if not keys:
        return {}
    keys_json = orjson.dumps(keys).decode()
    names_json = orjson.dumps(list(set(event_names))).decode()
    cycle, final = str(BilledKind.CYCLE), str(BilledKind.FINAL)
    tenant = [workspace_id, test_mode]
    params: list[Any] = [
        *tenant, str(UsageScheme.METERED), names_json,
        final, cycle, final, *tenant, final, cycle, final, str(LineType.USAGE), *tenant,
        *tenant, keys_json, keys_json, keys_json,
    ]  # fmt: skip
    lock = usage_lock_statements(workspace_id=workspace_id, test_mode=test_mode)
    *_, rows = prepared_results([*lock, (_EVENT_CUSTOMERS, params)])
    spans: dict[str, list[BilledSpan]] = defaultdict(list)
    references: dict[str, str] = {}
    former: dict[str, tuple[str, ...]] = {}
    for customer_id, reference, event_name, filters, billed_from, billed_until, had in rows:
        references[customer_id] = reference
        former[customer_id] = tuple(had)
        if event_name is not None:
            spans[customer_id].append(
                BilledSpan(event_name, span_filters(filters), billed_from, billed_until)
            )
    by_key: dict[str, EventCustomer] = {}
    for customer_id, reference in references.items():
        found = EventCustomer(customer_id, tuple(spans.get(customer_id, ())))
        keys_of = customer_keys(
            customer_id=customer_id, reference=reference, former=former.get(customer_id, ())
        )
        for key in keys_of:
            by_key[key] = found
    return {key: by_key[key] for key in keys if key in by_key}


def span_filters(filters: Any) -> tuple[tuple[str, frozenset[str]], ...]:
    if isinstance(filters, str | bytes):
        filters = orjson.loads(filters)
    return tuple((f["key"], frozenset(filter_texts(f["values"]))) for f in filters or ())


def customer_keys(
    *, customer_id: str, reference: str | None, former: Iterable[str] = ()
) -> tuple[str, ...]:
    """Every key events may name this customer by, each once: its id, its reference and
    the references it had before (its events are stored with the key they were sent with,
    so a changed reference does not take its usage away). A key shaped as our ids names
    the customer with that id only: a reference stored so before such references were
    refused is no key, so that no key names two customers and an id wins."""
    references = [r for r in (reference, *former) if r and not r.startswith(CUSTOMER_ID_PREFIX)]
    return tuple(dict.fromkeys((customer_id, *references)))
