"""The cycle writes its invoices as rows (invoices.services.batch): on random plans, each
is stored as the per-invoice path (invoice_create, then invoice_finalize) stores the same
invoice, its totals and its lines, column by column, also when the batch prices several
subscriptions on the same plans once."""

from decimal import Decimal
from typing import Any

import pytest
from django.forms.models import model_to_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.clock import workspace_today
from billing.models import DocumentType
from catalog.models import Coupon, Plan
from invoices.models import Invoice
from invoices.services.invoices import invoice_create, invoice_finalize
from subscriptions import services
from subscriptions.calendar import boundary_after
from subscriptions.models import Subscription
from subscriptions.pricing import cycle_draft
from subscriptions.services.cycles import cycle_run, fixed_clock
from subscriptions.tests.helpers import (
    coupon_of,
    customer_of,
    graduated_plan_of,
    plan_of,
    santiago,
    workspace_at,
)

pytestmark = pytest.mark.django_db

_money = st.decimals(min_value=0, max_value=2_000_000, places=2)
_plan = st.fixed_dictionaries(
    {
        "amount": _money,
        "quantity": st.decimals(min_value=Decimal("0.5"), max_value=400, places=3),
        "exempt": st.booleans(),
        "graduated": st.booleans(),
        "own_coupon": st.booleans(),
    }
)
_coupon = st.none() | st.fixed_dictionaries(
    {
        "discount_scheme": st.sampled_from(["%", "$"]),
        # A coupon's amount is positive (coupon_amount_positive): zero is not a coupon.
        "amount": st.decimals(min_value=Decimal("0.01"), max_value=100, places=2)
        | _money.filter(lambda amount: amount > 0),
        "apply_on": st.sampled_from(["invoice", "line"]),
    }
)
_subscription = st.fixed_dictionaries(
    {
        "plans": st.lists(_plan, min_size=1, max_size=3),
        "coupon": _coupon,
        "document": st.sampled_from([33, 34]),
        # Subscriptions on the same plans and coupon: the batch prices them once.
        "copies": st.integers(min_value=1, max_value=2),
    }
)


def _stored(invoice: Invoice) -> dict[str, Any]:
    ignored = {"id", "workspace", "number", "created_at", "updated_at", "pdf"}
    return {k: v for k, v in model_to_dict(invoice).items() if k not in ignored} | {
        "finalized_at": invoice.finalized_at
    }


def _stored_lines(invoice: Invoice) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in model_to_dict(line).items() if k not in {"id", "invoice"}}
        for line in invoice.lines.order_by("position")
    ]


def _coupon(workspace: Any, spec: dict[str, Any] | None) -> Coupon | None:
    if spec is None:
        return None
    amount = spec["amount"] if spec["discount_scheme"] == "$" else min(spec["amount"], 100)
    return coupon_of(
        workspace, discount_scheme=spec["discount_scheme"], amount=amount,
        apply_on=spec["apply_on"], duration_scheme="forever",
        currency_id="CLP" if spec["discount_scheme"] == "$" else None,
    )  # fmt: skip


def _plan(workspace: Any, spec: dict[str, Any]) -> Plan:
    if spec["graduated"]:
        return graduated_plan_of(workspace, exempt=spec["exempt"])
    plan = plan_of(workspace, exempt=spec["exempt"])
    plan.amount = spec["amount"]  # plan_of takes whole pesos; a unit price may have cents
    plan.save(update_fields=["amount"])
    return plan


def _single(subscription: Subscription, now: Any) -> Invoice:
    """The invoice the cycle will issue for `subscription`, through the per-invoice path."""
    start = subscription.next_billing
    assert start is not None
    lines = list(subscription.lines.select_related("plan", "plan__product", "coupon"))
    draft = cycle_draft(
        subscription,
        lines=lines,
        addons=[],
        period_start=start,
        period_end=boundary_after(subscription.billing_anchor, subscription.frequency, start),
        cycle=subscription.cycles_billed + 1,
        invoice_date=max(start, workspace_today(subscription.workspace, now)),
    )
    terms = draft.invoice
    invoice = invoice_create(
        workspace=subscription.workspace, test_mode=True, customer=subscription.customer,
        document=subscription.document, date=terms.date, lines=draft.lines,
        due_date=terms.due_date, period_start=terms.period_start, period_end=terms.period_end,
        subscription_id=subscription.id, custom_change=terms.custom_change, note=terms.note,
        references=terms.references, collection_method=terms.collection_method,
        discount=terms.discount, discount_scheme=terms.discount_scheme,
    )  # fmt: skip
    return invoice_finalize(invoice=invoice, now=now)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=st.lists(_subscription, min_size=1, max_size=3))
def test_the_cycle_stores_each_invoice_as_the_per_invoice_path_does(
    specs: list[dict[str, Any]],
) -> None:
    now = santiago(2026, 1, 15, 10, 0)
    workspace = workspace_at(now)
    subscriptions = []
    for spec in specs:
        coupon = _coupon(workspace, spec["coupon"])
        lines = [
            {"plan": _plan(workspace, plan), "quantity": plan["quantity"],
             "coupon": coupon if plan["own_coupon"] else None}
            for plan in spec["plans"]
        ]  # fmt: skip
        for _copy in range(spec["copies"]):
            subscription = services.subscription_create(
                workspace=workspace, test_mode=True, customer=customer_of(workspace),
                lines=lines, now=now, coupon=coupon,
                document=DocumentType.objects.get(pk=spec["document"]),
            )  # fmt: skip
            subscriptions.append(subscription)
    feb = santiago(2026, 2, 15, 0, 0)
    singles = [_single(Subscription.objects.get(pk=s.pk), feb) for s in subscriptions]

    billed = cycle_run(clock=fixed_clock(feb), now=feb, workspace=workspace, test_mode=True)

    assert billed == len(subscriptions)
    for subscription, single in zip(subscriptions, singles, strict=True):
        batch = _cycle_invoice(subscription, single)
        assert _stored(batch) == _stored(single)
        assert _stored_lines(batch) == _stored_lines(single)


def _cycle_invoice(subscription: Subscription, single: Invoice) -> Invoice:
    return (
        Invoice.objects.filter(subscription_id=subscription.id, period_start=single.period_start)
        .exclude(pk=single.pk)
        .get()
    )
