"""Orders: what a customer ordered, priced by the server, turned into a draft invoice.

An order is priced exactly as the invoice it will produce: its items are invoice lines
and its totals come from billing.documents.apply_totals over an unsaved invoice with the
order's terms (document type, currency, coupon discount). Prices are fixed when the order
is written: invoicing it later uses the stored items, whatever the catalog says by then.

Items name a catalog `plan` (the price comes from the plan; a metered plan is refused,
since its price depends on usage), a catalog `product` (a name and unit label; the
`amount` is required, products carry no price), or neither (`name` and `amount`). A
`coupon` (its code or its id) becomes the order's document discount: `%` as a percent,
`$` as an amount of the order's currency, capped at the subtotal; one with `apply_on:
"line"` becomes each item's discount instead, as on a subscription's lines.

Plans recur: invoicing an order with plans also starts their subscription (the
subscriptions app's, registered with `order_subscriptions_register`), whose first period
the order's invoice bills; `billing_cycle` is how many invoices it issues in all (null:
until cancelled). An order's plans become one subscription, so they share a frequency.

Status: draft → confirmed → invoiced, or draft → invoiced; only drafts change, drafts and
confirmed orders may be deleted, an invoiced order is final.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack, cast

from django.db import transaction
from django.db.models import ProtectedError

from billing.choices import DiscountScheme
from billing.clock import workspace_today
from billing.documents import (
    LINE_FIELDS,
    LineRow,
    apply_totals,
    base_tax_percent,
    build_lines,
    check_kept_lines_type,
    discount_base,
    store_lines,
)
from billing.errors import DomainError, InvalidInput
from billing.models import Currency, DocumentType, Line, Workspace
from billing.services.events import event_record
from catalog.choices import ApplyOn, CatalogStatus, UsageScheme
from catalog.models import Coupon
from catalog.pricing import coupon_line_discount, coupon_on_lines, plan_line_price
from catalog.selectors import (
    coupon_check_left,
    coupon_queryset,
    coupon_redeemable,
    plan_queryset,
    plan_unsellable,
    product_queryset,
)
from catalog.services import coupon_redeem
from customers.choices import CustomerStatus
from customers.models import Customer
from invoices.models import Invoice, Order, OrderItem, OrderStatus
from invoices.representations import order_snapshot
from invoices.selectors import order_has_open_intent
from invoices.services.invoices import check_invoice_document_type, invoice_create
from organization.models import OrgUnit

ORDER_TRANSITIONS = {
    (OrderStatus.DRAFT, OrderStatus.CONFIRMED),
    (OrderStatus.CONFIRMED, OrderStatus.INVOICED),
}
DELETABLE_STATUSES = (OrderStatus.DRAFT, OrderStatus.CONFIRMED)

# The type an order invoices to when it names none: Chile's factura, elsewhere the
# country's generic invoice.
_MAIN_INVOICE_CODES = {"CL": "33"}
_GENERIC_INVOICE_CODE = "INV"
_UNIT_PRICE_LIMIT = Decimal(10) ** 18  # what an amount column stores
_TOO_LARGE = "The amounts are too large: a unit price has at most 18 integer digits."
_UNSET: Any = object()


# `subscribe(order=…, invoice=…)` → the id of the subscription an invoiced order's
# plans start. Registered by the subscriptions app, so invoices never import it.
_SUBSCRIBE: dict[str, Callable[..., str]] = {}


def order_subscriptions_register(subscribe: Callable[..., str]) -> None:
    _SUBSCRIBE["subscribe"] = subscribe


def _record(order: Order, verb: str) -> None:
    event_record(
        workspace=order.workspace,
        test_mode=order.test_mode,
        type=f"order.{verb}",
        object_id=order.id,
        data=order_snapshot(order),
    )


def main_invoice_type(workspace: Workspace) -> DocumentType:
    code = _MAIN_INVOICE_CODES.get(workspace.country_id, _GENERIC_INVOICE_CODE)
    return DocumentType.objects.get(country_id=workspace.country_id, code=code)


def _check_customer(order: Order) -> None:
    customer: Customer = order.customer
    if customer.status == CustomerStatus.ARCHIVED:
        raise InvalidInput({"customer": ["This customer is archived."]})
    # Invoices are issued in their customer's currency.
    if order.currency_id != customer.currency_id:
        raise InvalidInput(
            {"currency": [f"Orders of this customer are in {customer.currency_id}, "
                          "the currency its invoices are issued in."]}
        )  # fmt: skip


# Items


class OrderItemRow(TypedDict, total=False):
    """An order's item as the services take it (OrderItemSerializer's validated data): a
    plan, a product, or neither, priced by the server from the plan."""

    name: str
    description: str
    product_id: str | None
    plan_id: str | None
    quantity: Decimal
    amount: Decimal
    exempt: bool
    discount: Decimal
    discount_scheme: str
    code: str
    code_scheme: str
    unit_label: str


@dataclass(frozen=True)
class _Tenant:
    workspace: Workspace
    test_mode: bool

    def scope(self) -> dict[str, Any]:
        return {"workspace": self.workspace, "test_mode": self.test_mode}


def _plan_price(plan: Any, quantity: Decimal) -> dict[str, Decimal | None]:
    """The line `amount` (unit price) and `gross` (exact price, when it is not amount ×
    quantity) of `quantity` units of the plan (catalog.pricing.line_price)."""
    price = plan_line_price(plan=plan, quantity=quantity)
    if price.amount >= _UNIT_PRICE_LIMIT:
        raise InvalidInput({"items": [_TOO_LARGE]})
    return {"amount": price.amount, "gross": price.gross}


def _check_plan_currency(order: Order, field: str, plan_id: str, currency: str) -> None:
    if currency != order.currency_id:
        raise InvalidInput(
            {f"{field}.plan": [f"Plan {plan_id} is priced in {currency}, "
                               f"the order is in {order.currency_id}."]}
        )  # fmt: skip


def _check_kept_plan_items(order: Order, items: Sequence[Any]) -> None:
    """Items kept while the order's currency changes (a customer in another currency)
    still carry their plans' prices, in the plans' currency: such an item is sent again."""
    plan_ids = {item.plan_id for item in items if item.plan_id}
    currencies = dict(plan_queryset().filter(pk__in=plan_ids).values_list("id", "currency_id"))
    for index, item in enumerate(items):
        if item.plan_id in currencies:
            _check_plan_currency(order, f"items.{index}", item.plan_id, currencies[item.plan_id])


def _item_row(tenant: _Tenant, order: Order, index: int, item: Mapping[str, Any]) -> dict[str, Any]:
    """Resolve an item's plan or product (in the caller's tenant) and price it."""
    row = dict(item)
    field = f"items.{index}"
    quantity = Decimal(row.get("quantity", 1))
    plan_id, product_id = row.get("plan_id"), row.get("product_id")
    product = None
    if plan_id:
        plan = (
            plan_queryset().filter(pk=plan_id, **tenant.scope()).select_related("product").first()
        )
        if plan is None:
            raise InvalidInput({f"{field}.plan": [f"No plan {plan_id}."]})
        if unsellable := plan_unsellable(plan):
            raise InvalidInput({f"{field}.plan": [unsellable]})
        if plan.usage_scheme == UsageScheme.METERED:
            raise InvalidInput(
                {f"{field}.plan": [f"Plan {plan_id} is metered: its price depends on usage."]}
            )
        _check_plan_currency(order, field, plan_id, plan.currency_id)
        if "amount" in row:
            raise InvalidInput({f"{field}.amount": ["The price of a plan comes from the plan."]})
        if product_id and product_id != plan.product_id:
            raise InvalidInput({f"{field}.product": [f"Plan {plan_id} is not of {product_id}."]})
        product = plan.product
        row["product_id"] = plan.product_id
        row.update(_plan_price(plan, quantity))
        row.setdefault("name", plan.name)
        row.setdefault("exempt", plan.exempt)
    elif product_id:
        product = product_queryset().filter(pk=product_id, **tenant.scope()).first()
        if product is None:
            raise InvalidInput({f"{field}.product": [f"No product {product_id}."]})
        if product.status != CatalogStatus.ACTIVE:
            raise InvalidInput({f"{field}.product": [f"Product {product_id} is archived."]})
        row.setdefault("name", product.name)
    if "amount" not in row:
        raise InvalidInput({f"{field}.amount": ["Required unless the item names a plan."]})
    if not row.get("name"):
        raise InvalidInput({f"{field}.name": ["Required unless the item names a plan or product."]})
    if product is not None and product.unit_label:
        row.setdefault("unit_label", product.unit_label)
    return row


# Coupons


def _redeemable(tenant: _Tenant, value: str, coupon: Coupon | None, today: date) -> Coupon:
    try:
        if coupon is None:
            return coupon_redeemable(**tenant.scope(), code=value, today=today)
        if coupon.code:
            return coupon_redeemable(**tenant.scope(), code=coupon.code, today=today)
        if coupon.status != CatalogStatus.ACTIVE or (
            coupon.valid_until_date is not None and coupon.valid_until_date < today
        ):
            raise DomainError("coupon_invalid", f"Coupon {value} cannot be redeemed.")
        coupon_check_left(coupon)
    except DomainError as exc:
        raise InvalidInput({"coupon": [exc.detail]}) from exc
    return coupon


def _coupon(tenant: _Tenant, value: str, order: Order, now: datetime) -> Coupon:
    """The tenant's redeemable coupon with this id or code; any problem is a 400 on it.

    The coupon an order already holds is kept as it is (an edit of the items does not
    fail because the coupon expired since it was applied).
    """
    coupon = coupon_queryset().filter(pk=value, **tenant.scope()).first()
    if coupon is None or coupon.pk != order.coupon_id:
        coupon = _redeemable(tenant, value, coupon, workspace_today(tenant.workspace, now))
    if coupon.discount_scheme == DiscountScheme.AMOUNT and coupon.currency_id != order.currency_id:
        raise InvalidInput(
            {"coupon": [f"Coupon {value} takes off {coupon.currency_id}, "
                        f"the order is in {order.currency_id}."]}
        )  # fmt: skip
    return coupon


# Pricing


def _shadow_invoice(order: Order, discount: Decimal, scheme: str) -> Invoice:
    """The unsaved invoice this order would produce, for its totals."""
    return Invoice(
        document=order.document,
        currency_id=order.currency_id,
        tax_percent=order.tax_percent,
        discount=discount,
        discount_scheme=scheme,
    )


def _totals(order: Order, items: Sequence[Line], discount: Decimal, scheme: str) -> Invoice:
    invoice = _shadow_invoice(order, discount, scheme)
    try:
        apply_totals(invoice, list(items))
    except InvalidInput as exc:
        # apply_totals names invoice fields; the order's lines are its items.
        raise InvalidInput(
            {key.replace("lines", "items", 1): value for key, value in exc.errors.items()}
        ) from exc
    return invoice


def _price(order: Order, items: Sequence[Line], coupon: Coupon | None) -> None:
    discount, scheme = Decimal(0), str(DiscountScheme.PERCENT)
    if coupon is not None and coupon_on_lines(coupon) is None:
        discount, scheme = Decimal(coupon.amount), str(coupon.discount_scheme)
        if scheme == DiscountScheme.AMOUNT:
            _totals(order, items, Decimal(0), scheme)
            discount = min(discount, discount_base(items))
    invoice = _totals(order, items, discount, scheme)
    order.discount, order.discount_scheme = discount, scheme
    for name in ("amount", "exempt", "discount_amount", "subtotal", "tax", "total"):
        setattr(order, name, getattr(invoice, name))


def _apply_line_coupon(coupon: Coupon | None, items: Sequence[Line]) -> None:
    """A coupon that comes off each line is each item's discount, as on a subscription's
    lines (catalog.pricing.coupon_line_discount). An item that states a discount of its
    own is a 400 on it, unless it is the coupon's (an item sent back as it reads): the
    coupon would silently replace it."""
    if coupon is None:
        return
    errors = {}
    for index, item in enumerate(items):
        gross = item.amount * item.quantity if item.gross is None else item.gross
        discount, scheme = coupon_line_discount(coupon, gross)
        if item.discount and (item.discount, item.discount_scheme) != (discount, scheme):
            errors[f"items.{index}.discount"] = [
                f"Coupon {coupon.pk} comes off each item; send no discount of its own."
            ]
        item.discount, item.discount_scheme = discount, scheme
    if errors:
        raise InvalidInput(errors)


def _check_kept_line_coupon(order: Order, coupon: Coupon | None) -> None:
    """Kept items of an order whose coupon came off each item carry its discount: another
    coupon, or none, cannot tell it from one of their own, so the items are sent again."""
    if order.coupon_id is None or order.coupon_id == (coupon.pk if coupon else None):
        return
    if coupon_queryset().filter(pk=order.coupon_id, apply_on=ApplyOn.LINE).exists():
        raise InvalidInput(
            {"items": [f"Coupon {order.coupon_id} came off each item; send the items again "
                       "with the coupon's change."]}
        )  # fmt: skip


def _check_subscription_terms(order: Order, items: Sequence[Any]) -> None:
    """The plans start one subscription when the order is invoiced: they share a
    frequency, and `billing_cycle` counts that subscription's invoices."""
    plan_ids = {item.plan_id for item in items if item.plan_id}
    if not plan_ids:
        if order.billing_cycle is not None:
            raise InvalidInput(
                {"billing_cycle": ["Only an order with a plan starts a subscription to count "
                                   "billing cycles of."]}
            )  # fmt: skip
        return
    frequencies = set(plan_queryset().filter(pk__in=plan_ids).values_list("frequency", flat=True))
    if len(frequencies) > 1:
        raise InvalidInput(
            {"items": ["The plans of an order start one subscription: they bill at one "
                       f"frequency, not {', '.join(sorted(frequencies))}."]}
        )  # fmt: skip


def _save(
    tenant: _Tenant,
    order: Order,
    document: DocumentType,
    *,
    items: Sequence[OrderItemRow] | None,
    coupon: str | None,
    now: datetime,
    previous: DocumentType | None = None,
) -> None:
    """Validate the order's terms, resolve items and coupon, price, and save with items;
    `previous` is the type a draft had before this update."""
    _check_customer(order)
    check_invoice_document_type(
        tenant.workspace, document, customer=order.customer, currency=order.currency_id
    )
    if items is None and previous is not None:
        check_kept_lines_type(previous, document, field="items")
    order.document = document
    order.tax_percent = base_tax_percent(document)
    lines: list[Any]  # OrderItem
    if items is None:
        lines = list(order.items.all())
        _check_kept_plan_items(order, lines)
    else:
        if not items:
            raise InvalidInput({"items": ["An order needs at least one item."]})
        rows = [_item_row(tenant, order, index, item) for index, item in enumerate(items)]
        lines = cast(list[Any], build_lines(OrderItem, {"order": order}, rows))
        for line, row in zip(lines, rows, strict=True):
            line.product_id = row.get("product_id")
    _check_subscription_terms(order, lines)
    resolved = _coupon(tenant, coupon, order, now) if coupon else None
    if items is None:
        _check_kept_line_coupon(order, resolved)
    _apply_line_coupon(coupon_on_lines(resolved), lines)
    order.coupon_id = resolved.id if resolved else None
    _price(order, lines, resolved)
    order.save()
    store_lines(OrderItem, lines, replace=None if items is None else order.items)


class OrderFields(TypedDict, total=False):
    """What an order's create or update may set besides its customer, items, currency, type
    and coupon (OrderSerializer's other writable fields)."""

    date: date | None
    note: str
    billing_cycle: int | None
    orgunit: OrgUnit | None
    address: str
    state: str
    carrier_id: str
    carrier_name: str
    licence_plate: str
    shipping_type: str
    metadata: dict[str, Any]


class OrderChanges(OrderFields, total=False):
    """What a draft order's update may set."""

    customer: Customer
    document: DocumentType


@transaction.atomic
def order_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    customer: Customer,
    items: Sequence[OrderItemRow],
    now: datetime,
    currency: Currency | None = None,
    document: DocumentType | None = None,
    coupon: str | None = None,
    **fields: Unpack[OrderFields],
) -> Order:
    """A draft order; `currency` defaults to the customer's, `document` to the workspace
    country's main invoice type."""
    if fields.get("date") is None:
        fields["date"] = workspace_today(workspace, now)
    order = Order(
        workspace=workspace,
        test_mode=test_mode,
        customer=customer,
        currency_id=currency.code if currency else customer.currency_id,
        **fields,
    )
    document = document or main_invoice_type(workspace)
    _save(_Tenant(workspace, test_mode), order, document, items=items, coupon=coupon, now=now)
    _record(order, "created")
    return order


def _lock(order: Order) -> Order:
    # `of`: PostgreSQL cannot lock the nullable side of the outer join to `document`.
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("document", "customer")
        .get(pk=order.pk)
    )


def _check_no_open_intent(order: Order, verb: str) -> None:
    """An open intent is about to collect the order's total as it was: the order holds
    still until the intent ends (the caller holds the order's row lock, which
    intent_create and intent_confirm take too)."""
    if order_has_open_intent(order):
        raise DomainError(
            "order_has_open_intent",
            f"Order {order.id} has an open payment intent, so it cannot be {verb}; "
            "cancel the intent first.",
        )


def _transition(order: Order, target: OrderStatus) -> None:
    if (order.status, target) == (OrderStatus.DRAFT, OrderStatus.INVOICED):
        raise DomainError(
            "order_not_confirmed", f"Order {order.id} is a draft: confirm it before invoicing it."
        )
    if (order.status, target) not in ORDER_TRANSITIONS:
        raise DomainError(
            "order_invalid_transition",
            f"Order {order.id} is {order.status} and cannot become {target}.",
        )
    order.status = target


@transaction.atomic
def order_update(
    *,
    order: Order,
    now: datetime,
    items: Sequence[OrderItemRow] | None = None,
    coupon: str | None = _UNSET,
    currency: Currency | None = _UNSET,
    **fields: Unpack[OrderChanges],
) -> Order:
    """Change a draft. Items and coupon are kept unless given (a null coupon removes it);
    the order is priced again either way."""
    order = _lock(order)
    if order.status != OrderStatus.DRAFT:
        raise DomainError(
            "order_not_draft", f"Order {order.id} is {order.status}; only drafts can change."
        )
    _check_no_open_intent(order, "changed")
    previous = order.document
    for name, value in fields.items():
        setattr(order, name, value)
    if currency is not _UNSET or "customer" in fields:
        if currency is not _UNSET and currency is not None:  # _UNSET is truthy
            order.currency_id = currency.code
        else:
            order.currency_id = order.customer.currency_id
    if coupon is _UNSET:
        coupon = order.coupon_id
    document = order.document or main_invoice_type(order.workspace)
    tenant = _Tenant(order.workspace, order.test_mode)
    _save(tenant, order, document, items=items, coupon=coupon, now=now, previous=previous)
    return order


@transaction.atomic
def order_delete(*, order: Order) -> None:
    order = _lock(order)
    if order.status not in DELETABLE_STATUSES:
        raise DomainError(
            "order_invoiced", f"Order {order.id} is invoiced; it is kept with its invoice."
        )
    _check_no_open_intent(order, "deleted")
    try:
        order.delete()
    except ProtectedError as exc:
        # Payment intents (payments, which this app does not import) refer to the order:
        # an order someone tried to pay is kept with the record of those attempts.
        ids = ", ".join(sorted(str(intent.pk) for intent in exc.protected_objects))
        raise DomainError(
            "order_has_intents",
            f"Order {order.id} has payment intents ({ids}); it is kept with them.",
        ) from exc


@transaction.atomic
def order_confirm(*, order: Order) -> Order:
    order = _lock(order)
    _transition(order, OrderStatus.CONFIRMED)
    order.save(update_fields=["status", "updated_at"])
    _record(order, "confirmed")
    return order


def _invoice_rows(order: Order) -> list[LineRow]:
    return [
        cast(
            LineRow,
            {**{name: getattr(item, name) for name in LINE_FIELDS}, "plan_id": item.plan_id},
        )
        for item in order.items.order_by("position", "id")
    ]


@transaction.atomic
def order_invoice(*, order: Order, now: datetime) -> Order:
    """Create the order's draft invoice (its items as lines, its coupon as the invoice's
    discount, dated today in the workspace's timezone) and link it. An order with plans
    also starts their subscription, whose first period that invoice bills."""
    order = _lock(order)
    _transition(order, OrderStatus.INVOICED)
    if order.coupon_id:
        # Invoicing redeems the coupon (a draft only names it); its subscription, if
        # the order starts one, takes it with this redemption.
        coupon_redeem(coupon_id=order.coupon_id)
    document = order.document or main_invoice_type(order.workspace)
    invoice = invoice_create(
        workspace=order.workspace,
        test_mode=order.test_mode,
        customer=order.customer,
        document=document,
        date=workspace_today(order.workspace, now),
        lines=_invoice_rows(order),
        discount=order.discount,
        discount_scheme=order.discount_scheme,
        note=order.note,
        orgunit=order.orgunit,
    )
    order.invoice, order.document = invoice, document
    if order.items.filter(plan_id__isnull=False).exists():
        order.subscription_id = _SUBSCRIBE["subscribe"](order=order, invoice=invoice)
    order.save(update_fields=["status", "invoice", "document", "subscription_id", "updated_at"])
    _record(order, "invoiced")
    return order
