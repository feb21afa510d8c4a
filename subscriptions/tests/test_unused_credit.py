"""A credit for unused time gives back what was charged: credited on the first day of the
period, it is the whole invoice, for facturas (prices before IVA) and boletas (prices
including it), with and without a discount on the invoice."""

from decimal import Decimal

import pytest

from billing.models import DocumentType
from invoices.models import CreditNote, Invoice
from subscriptions import services
from subscriptions.tests.helpers import coupon_of, plan_of, santiago, subscribe, workspace_at

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
