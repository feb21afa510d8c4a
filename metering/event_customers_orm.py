"""`event_customers` for a database other than PostgreSQL (the zero-configuration
SQLite, which has neither LATERAL nor jsonb): the same answer read with the ORM, in a few
queries. metering/tests/test_event_customers_orm.py holds it equal to the SQL read on
PostgreSQL, over subscriptions billed, ended and cancelled."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

import orjson

from catalog.choices import UsageScheme
from catalog.models import Plan
from invoices.choices import LineType
from invoices.models import InvoiceLine
from metering import selectors
from metering.models import Meter
from subscriptions.choices import BilledKind
from subscriptions.models import BilledPeriod, EndedLine, Subscription, SubscriptionLine


def event_customers_orm(
    *, workspace_id: str, test_mode: bool, keys: Iterable[str], event_names: Iterable[str]
) -> dict[str, "selectors.EventCustomer"]:
    customers = selectors.customers_by_key(
        workspace_id=workspace_id, test_mode=test_mode, keys=keys
    )
    meters = {
        pk: (event_name, filters)
        for pk, event_name, filters in Meter.objects.filter(
            workspace_id=workspace_id, test_mode=test_mode, event_name__in=set(event_names)
        ).values_list("id", "event_name", "filters")
    }
    metered = {
        plan_id: meters[meter_id]
        for plan_id, meter_id in Plan.objects.filter(
            meter_id__in=meters, usage_scheme=UsageScheme.METERED
        ).values_list("id", "meter_id")
    }
    spans = billed_spans(
        workspace_id, test_mode, {c.pk for c in customers.values()}, metered
    ) if metered else {}  # fmt: skip
    return {
        key: selectors.EventCustomer(customer.pk, tuple(spans.get(customer.pk, ())))
        for key, customer in customers.items()
    }


def billed_spans(
    workspace_id: str,
    test_mode: bool,
    customer_ids: set[str],
    metered: dict[str, tuple[str, list[dict[str, object]]]],
    *,
    subscription_ids: set[str] | None = None,
) -> dict[str, list["selectors.BilledSpan"]]:
    """What each customer's subscriptions (those of `subscription_ids` only, when given)
    have invoiced of the metered plans, by meter (see selectors._BILLED): from the start
    of billing to the latest period billed."""
    chosen = Subscription.objects.filter(
        workspace_id=workspace_id, test_mode=test_mode, customer_id__in=customer_ids
    )
    if subscription_ids is not None:
        chosen = chosen.filter(pk__in=subscription_ids)
    subscriptions = {
        pk: (customer_id, trial_end or date_start)
        for pk, customer_id, trial_end, date_start in chosen.values_list(
            "id", "customer_id", "trial_end", "date_start"
        )
    }
    periods = BilledPeriod.objects.filter(
        subscription_id__in=subscriptions, kind__in=[BilledKind.CYCLE, BilledKind.FINAL]
    ).values_list("subscription_id", "kind", "period_start", "period_end", "invoice_id")
    until: dict[str, date] = {}
    invoiced: dict[str, tuple[str, date]] = {}  # invoice id: (subscription id, billed until)
    for subscription_id, kind, period_start, period_end, invoice_id in periods:
        billed_until = period_end if kind == BilledKind.FINAL else period_start
        until[subscription_id] = max(until.get(subscription_id, billed_until), billed_until)
        invoiced[invoice_id] = (subscription_id, billed_until)
    billed: list[tuple[str, str, date]] = []  # subscription id, plan id, billed until
    for model in (SubscriptionLine, EndedLine):
        lines = model.objects.filter(
            subscription_id__in=subscriptions, plan_id__in=metered
        ).values_list("subscription_id", "plan_id")
        billed += [(s, plan, until[s]) for s, plan in lines if s in until]
    usage_lines = InvoiceLine.objects.filter(
        invoice_id__in=invoiced, line_type=LineType.USAGE, plan_id__in=metered
    ).values_list("invoice_id", "plan_id")
    for invoice_id, plan_id in usage_lines:
        subscription_id, billed_until = invoiced[invoice_id]
        if plan_id is not None:
            billed.append((subscription_id, plan_id, billed_until))
    # One span per customer and meter (its event name and filters as stored).
    found: dict[tuple[str, str, bytes], list[date]] = {}
    for subscription_id, plan_id, billed_until in billed:
        customer_id, billed_from = subscriptions[subscription_id]
        event_name, filters = metered[plan_id]
        span = found.setdefault((customer_id, event_name, orjson.dumps(filters)), [
            billed_from, billed_until
        ])  # fmt: skip
        span[0], span[1] = min(span[0], billed_from), max(span[1], billed_until)
    spans: dict[str, list[selectors.BilledSpan]] = defaultdict(list)
    for (customer_id, event_name, filters_json), (billed_from, billed_until) in found.items():
        spans[customer_id].append(selectors.BilledSpan(
            event_name, selectors.span_filters(filters_json), billed_from, billed_until
        ))  # fmt: skip
    return spans
