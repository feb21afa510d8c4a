"""What the subscription services take as input: the shapes of SubscriptionSerializer's
validated data, so a wrong key is a type error where the service is called."""

from decimal import Decimal
from typing import Any, NotRequired, TypedDict

from billing.documents import ReferenceRow
from catalog.models import AddOn, Coupon, Plan
from organization.models import OrgUnit
from payments.models import Source


class LineInput(TypedDict):
    """A plan billed each cycle, `quantity` times (1 when not given)."""

    plan: Plan
    quantity: NotRequired[Decimal]
    coupon: NotRequired[Coupon | None]


class AddOnInput(TypedDict):
    addon: AddOn
    quantity: NotRequired[Decimal]


class SubscriptionFields(TypedDict, total=False):
    """What a subscription's create or update may set besides its lines and add-ons
    (and, on create, what fixes its calendar)."""

    billing_cycles: int | None
    expiration_days: int
    collection_scheme: str
    default_source: Source | None
    custom_change: Decimal
    coupon: Coupon | None
    orgunit: OrgUnit | None
    require_reference: bool
    note: str
    references: list[ReferenceRow]
    metadata: dict[str, Any]
    # Update only: true schedules the cancellation at period end, false takes it back.
    cancel_at_period_end: bool
