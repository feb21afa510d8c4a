"""Piriod's usage records (`/usages/`): a quantity reported on a metered subscription
line. Each is stored as a record (for the API) and as an event (for the aggregation the
cycle bills by), in one transaction; the event's id is the record's, so it is counted
once. A record is deleted with its event while no invoice has billed it; the event's id
stays taken in the store, so the record's usage is never counted again."""

from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction

from billing.errors import DomainError, InvalidInput, NotFound
from billing.models import Workspace
from metering.choices import CreationScheme, UsageAction
from metering.event_customers_orm import billed_spans
from metering.models import UsageRecord
from metering.services.events import is_invoiced, latest_timestamp
from metering.services.usage import USAGE_RECORD_EVENT, USAGE_RECORD_FIELD
from metering.store import RESET_PROPERTY, RESET_VALUE, NewEvent, Tenant, event_store
from subscriptions.calendar import local_midnight
from subscriptions.choices import SubscriptionStatus
from subscriptions.models import SubscriptionLine
from subscriptions.usage import is_metered, usage_lock_statements


def record_properties(quantity: Decimal, action: str) -> dict[str, str]:
    """A record's event properties; a `set` is the reset its plan's meter starts over at."""
    # As text: a JSON number would pass through a float on its way to the store.
    properties = {USAGE_RECORD_FIELD: str(quantity)}
    if action == UsageAction.SET:
        properties[RESET_PROPERTY] = RESET_VALUE
    return properties


def _check_billable(line: SubscriptionLine, date_time: datetime, now: datetime) -> None:
    """A record no invoice would ever bill is refused, as an event too far ahead is."""
    subscription = line.subscription
    if subscription.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.FINALIZED):
        raise InvalidInput(
            {"subscription_line": [f"Subscription {subscription.pk} is {subscription.status}: "
                                   "no invoice bills its usage any more."]}
        )  # fmt: skip
    if date_time > latest_timestamp(now):
        raise InvalidInput({"date_time": [f"{date_time.isoformat()} is too far in the future."]})
    started = local_midnight(subscription.date_start, subscription.workspace.timezone)
    if date_time < started:
        raise InvalidInput(
            {"date_time": [f"{date_time.isoformat()} is before subscription {subscription.pk} "
                           f"started ({subscription.date_start}): no period bills it."]}
        )  # fmt: skip


@transaction.atomic
def usage_record_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    subscription_line: SubscriptionLine,
    quantity: Decimal,
    date_time: datetime | None = None,
    creation_scheme: str = CreationScheme.MANUAL,
    action: str = UsageAction.INCREMENT,
    metadata: dict | None = None,
    now: datetime,
) -> UsageRecord:
    plan = subscription_line.plan
    if not is_metered(plan):
        raise InvalidInput(
            {"subscription_line": [f"Plan {plan.pk} is licensed: it bills its quantity, not "
                                   "usage. Record usage on a line of a metered plan."]}
        )  # fmt: skip
    if plan.meter_id is not None:
        raise InvalidInput(
            {"subscription_line": [f"Plan {plan.pk} is billed by meter {plan.meter_id}: send "
                                   "its events to /events/ instead."]}
        )  # fmt: skip
    date_time = date_time or now
    _check_billable(subscription_line, date_time, now)
    _hold_usage_lock(workspace.pk, test_mode)
    record = UsageRecord(
        workspace=workspace,
        test_mode=test_mode,
        subscription_id=subscription_line.subscription_id,
        subscription_line=subscription_line,
        plan=plan,
        quantity=quantity,
        date_time=date_time,
        creation_scheme=creation_scheme,
        action=action,
        metadata=metadata or {},
    )
    event = record_event(record)
    if _is_billed(record, event):
        raise InvalidInput(
            {"date_time": [f"{date_time.isoformat()} lies in a period subscription "
                           f"{record.subscription_id} has invoiced: no invoice would bill it."]}
        )  # fmt: skip
    record.save(force_insert=True)
    event_store().insert(
        tenant=Tenant(workspace_id=workspace.pk, test_mode=test_mode),
        events=[event],
        received_at=now,
    )
    return record


def _hold_usage_lock(workspace_id: str, test_mode: bool) -> None:
    """The tenant's usage lock, shared, as ingestion takes it: a cycle counting the usage
    either commits its invoices before what is invoiced is read here, or reads the usage
    after this transaction commits."""
    with connection.cursor() as cursor:
        for sql, params in usage_lock_statements(workspace_id=workspace_id, test_mode=test_mode):
            cursor.execute(sql, params)


def record_event(record: UsageRecord) -> NewEvent:
    """The event a record is stored as: keyed by its subscription, named after its plan."""
    return NewEvent(
        event_id=record.pk,
        event_name=USAGE_RECORD_EVENT + record.plan_id,
        customer_key=record.subscription_id,
        timestamp=record.date_time,
        properties=record_properties(record.quantity, record.action),
    )


def _is_billed(record: UsageRecord, event: NewEvent) -> bool:
    """Whether an invoice of the record's subscription has billed its usage: the rule an
    event is judged `late` by, over that subscription's spans of the record's plan."""
    subscription = record.subscription
    spans = billed_spans(
        record.workspace_id, record.test_mode, {subscription.customer_id},
        {record.plan_id: (event.event_name, [])}, subscription_ids={subscription.pk},
    )  # fmt: skip
    billed = spans.get(subscription.customer_id, ())
    return bool(billed) and is_invoiced(event, billed, record.workspace.timezone)


@transaction.atomic
def usage_record_delete(*, record: UsageRecord) -> None:
    """Delete a record whose usage no invoice has billed, and its event (409 otherwise).

    The tenant's usage lock is held shared first, as ingestion holds it: a cycle counting
    the usage either commits its invoices before this reads them (and the record is
    billed) or reads the usage after this commits (without the record)."""
    _hold_usage_lock(record.workspace_id, record.test_mode)
    # Locked, so that two deletes of one record do not both go on.
    locked = UsageRecord.objects.select_for_update().filter(pk=record.pk).first()
    if locked is None:
        raise NotFound()
    event = record_event(locked)
    if _is_billed(locked, event):
        raise DomainError(
            "usage_record_billed",
            f"Usage record {locked.pk} ({locked.date_time.isoformat()}) lies in a period "
            f"subscription {locked.subscription_id} has invoiced: its usage is billed, and "
            "an issued invoice never changes.",
        )
    locked.delete()
    # The store last: outside PostgreSQL its delete is not undone by a rollback.
    event_store().delete(
        tenant=Tenant(workspace_id=locked.workspace_id, test_mode=locked.test_mode), event=event
    )
