"""A credit for unused time gives back what was charged: credited on the first day of the
period, it is the whole invoice, for facturas (prices before IVA) and boletas (prices
including it), with and without a discount on the invoice."""

from decimal import Decimal

import pytest

from billing.models import DocumentType, Workspace
from catalog.tests.factories import PlanFactory
from customers.tests.factories import CustomerFactory
from invoices.models import CreditNote, Invoice
from subscriptions import services
from subscriptions.tests.helpers import coupon_of, plan_of, santiago, subscribe, workspace_at
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db
D = Decimal
START = santiago(2026, 4, 1, 9, 0)

COUPONS = {
    "none": None,
    "percent": {"amount": D(10), "duration_scheme": "forever"},
    "amount": {
        "amount": D(2000), "discount_scheme": "$", "currency_id": "CLP",
        "duration_scheme": "forever",
    },
}  # fmt: skip


@pytest.mark.parametrize("code", ["33", "39"])
@pytest.mark.parametrize("discount", sorted(COUPONS))
def test_a_whole_unused_period_is_credited_what_its_invoice_charged(
    code: str, discount: str
) -> None:
    workspace = workspace_at(START)
    coupon = COUPONS[discount]
    fields = {} if coupon is None else {"coupon": coupon_of(workspace, **coupon)}
    subscription = subscribe(
        workspace, START, [(plan_of(workspace, 15000), 1), (plan_of(workspace, 5000), 1)],
        document=DocumentType.objects.get(country_id="CL", code=code), **fields,
    )  # fmt: skip
    invoice = Invoice.objects.get(subscription_id=subscription.id)

    services.subscription_cancel(
        subscription=subscription, now=santiago(2026, 4, 1, 10, 0), prorate=True
    )

    note = CreditNote.objects.get(invoice=invoice)
    assert (note.subtotal, note.tax, note.total) == (invoice.subtotal, invoice.tax, invoice.total)


def test_unused_time_beyond_what_an_invoice_can_still_take_is_a_409_and_nothing_changes() -> None:
    """An invoice credited by hand already cannot take the unused time's credit note too:
    a prorated cancellation (or a plan change) then answers 409 naming the invoice, not a
    400 on a `lines` field the request never sent, and the subscription is left as it
    was."""
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(
        test_clock_at=santiago(2026, 3, 10, 9, 0)
    )
    scope = {"workspace": tenant.workspace, "test_mode": True}
    plan = PlanFactory(**scope, amount=Decimal(10000))
    body = {"customer": CustomerFactory(**scope).id, "lines": [{"plan": plan.id}]}
    sub = tenant.client.post("/subscriptions/", body, format="json").json()
    invoice = Invoice.objects.get(subscription_id=sub["id"])
    lines = [{"name": "Ajuste", "quantity": 1, "amount": 9000}]
    note = tenant.client.post(
        "/creditnotes/", {"invoice": invoice.id, "reason": 3, "lines": lines}, format="json"
    ).json()
    assert tenant.client.post(f"/creditnotes/{note['id']}/finalize/").status_code == 200
    tenant.client.post("/test_clock/", {"advance_to": "2026-03-25T09:00:00-03:00"}, format="json")

    cancelled = tenant.client.delete(f"/subscriptions/{sub['id']}/?prorate=true")
    changed = tenant.client.patch(
        f"/subscriptions/{sub['id']}/", {"lines": [{"plan": plan.id, "quantity": 3}]},
        format="json",
    )  # fmt: skip

    for response in (cancelled, changed):
        assert response.status_code == 409, response.json()
        assert response.json()["code"] == "subscription_credit_refused"
        assert invoice.id in response.json()["detail"]
    after = tenant.client.get(f"/subscriptions/{sub['id']}/").json()
    assert (after["status"], after["lines"][0]["quantity"]) == ("active", 1)
    assert CreditNote.objects.filter(invoice=invoice).count() == 1
