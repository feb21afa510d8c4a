"""Piriod's usage records (`/usages/`): a quantity reported on a metered subscription
line. Each is stored as a record (for the API) and as an event (for the aggregation the
cycle bills by), in one transaction; the event's id is the record's, so it is counted
once."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from billing.errors import InvalidInput
from billing.models import Workspace
from metering.choices import CreationScheme, UsageAction
from metering.models import UsageRecord
from metering.services.events import latest_timestamp
from metering.services.usage import USAGE_RECORD_EVENT, USAGE_RECORD_FIELD
from metering.store import RESET_PROPERTY, RESET_VALUE, NewEvent, Tenant, event_store
from subscriptions.calendar import local_midnight
from subscriptions.choices import SubscriptionStatus
from subscriptions.models import SubscriptionLine
from subscriptions.usage import is_metered


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
    record = UsageRecord.objects.create(
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
    event = NewEvent(
        event_id=record.pk,
        event_name=USAGE_RECORD_EVENT + plan.pk,
        customer_key=subscription_line.subscription_id,
        timestamp=record.date_time,
        properties=record_properties(quantity, action),
    )
    event_store().insert(
        tenant=Tenant(workspace_id=workspace.pk, test_mode=test_mode),
        events=[event],
        received_at=now,
    )
    return record
