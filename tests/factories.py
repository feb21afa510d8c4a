"""factory_boy factories for every model the API serves.

The isolation matrix (tests/test_isolation.py) looks up a factory here for each model
behind a route, so a new resource must add its factory to FACTORIES.
"""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from stdnum.cl import rut

from billing.documents import apply_totals
from billing.models import Country, Event, Membership, Workspace
from catalog.models import AddOn, Coupon, Plan, Product, Tax
from customers.models import Contact, Customer
from invoices.models import (
    CreditNote,
    CreditNoteLine,
    DebitNote,
    DebitNoteLine,
    Invoice,
    InvoiceLine,
    Order,
    OrderItem,
)
from procurement.models import (
    Purchase,
    PurchaseCreditNote,
    PurchaseCreditNoteLine,
    PurchaseLine,
    Retention,
    RetentionLine,
    Supplier,
)
from webhooks.models import WebhookEndpoint
from webhooks.signing import new_secret


def _rut(n: int) -> str:
    body = str(10_000_000 + n)
    return f"{body}-{rut.calc_check_digit(body)}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    country = factory.LazyFunction(lambda: Country.objects.get(code="CL"))
    currency = "CLP"
    timezone = "America/Santiago"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.OWNER


class TenantFactory(factory.django.DjangoModelFactory):
    """Base for tenant models: pass `workspace` and `test_mode`."""

    workspace = factory.SubFactory(WorkspaceFactory)
    test_mode = False


class CustomerFactory(TenantFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    country = factory.LazyFunction(lambda: Country.objects.get(code="CL"))
    currency_id = "CLP"
    tax_id = factory.Sequence(_rut)
    email = factory.Sequence(lambda n: f"billing{n}@customer.cl")


class ContactFactory(TenantFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(
        CustomerFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.Sequence(lambda n: f"contact{n}@customer.cl")


class WebhookEndpointFactory(TenantFactory):
    class Meta:
        model = WebhookEndpoint

    url = factory.Sequence(lambda n: f"https://hooks{n}.example.com/billing")
    events = factory.LazyFunction(lambda: ["*"])
    secret = factory.LazyFunction(new_secret)


class EventFactory(TenantFactory):
    class Meta:
        model = Event

    type = "customer.updated"
    object_id = factory.Sequence(lambda n: f"cus_{n:026d}")
    sequence = 1
    data = factory.LazyAttribute(lambda event: {"id": event.object_id})


class InvoiceFactory(TenantFactory):
    """A draft CLP factura (33) with one line; totals as the service computes them."""

    class Meta:
        model = Invoice
        skip_postgeneration_save = True

    customer = factory.SubFactory(
        CustomerFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    document_id = 33
    currency_id = "CLP"
    date = factory.LazyFunction(lambda: datetime.date(2026, 1, 15))
    tax_percent = Decimal(19)

    @factory.post_generation
    def lines(invoice, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if not create:
            return
        lines = [InvoiceLine(invoice=invoice, name="Item", amount=Decimal(1000))]
        apply_totals(invoice, lines)
        InvoiceLine.objects.bulk_create(lines)
        invoice.save()


FACTORIES: dict[type, type[TenantFactory]] = {
    Invoice: InvoiceFactory,
    Customer: CustomerFactory,
    Contact: ContactFactory,
    WebhookEndpoint: WebhookEndpointFactory,
    Event: EventFactory,
}


class ProductFactory(TenantFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    unit_label = "unit"


class PlanFactory(TenantFactory):
    """A monthly CLP plan at 10,000 per unit."""

    class Meta:
        model = Plan

    product = factory.SubFactory(
        ProductFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    name = factory.Sequence(lambda n: f"Plan {n}")
    currency_id = "CLP"
    amount = Decimal(10000)


class AddOnFactory(TenantFactory):
    class Meta:
        model = AddOn

    name = factory.Sequence(lambda n: f"Add-on {n}")
    currency_id = "CLP"
    amount = Decimal(5000)


class CouponFactory(TenantFactory):
    """A one-time 10% coupon with a code."""

    class Meta:
        model = Coupon

    name = factory.Sequence(lambda n: f"Coupon {n}")
    code = factory.Sequence(lambda n: f"CODE{n}")
    amount = Decimal(10)


class TaxFactory(TenantFactory):
    class Meta:
        model = Tax

    name = "IVA"
    percent = Decimal(19)
    country_id = "CL"


FACTORIES.update(
    {
        Product: ProductFactory,
        Plan: PlanFactory,
        AddOn: AddOnFactory,
        Coupon: CouponFactory,
        Tax: TaxFactory,
    }
)


class FinalizedInvoiceFactory(InvoiceFactory):
    """A finalized factura (33) with one line of 1,000 + IVA (1,190), numbered."""

    status = "finalized"
    number = factory.Sequence(lambda n: n + 1)
    biller_status = "pending"


class NoteFactory(TenantFactory):
    """A draft note correcting amounts (reason 3) of a finalized invoice: 100 + IVA."""

    class Meta:
        abstract = True
        skip_postgeneration_save = True

    invoice = factory.SubFactory(
        FinalizedInvoiceFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    customer = factory.SelfAttribute("invoice.customer")
    currency_id = "CLP"
    date = factory.LazyFunction(lambda: datetime.date(2026, 1, 20))
    reason = 3
    description = "Descuento"
    tax_percent = Decimal(19)
    references = factory.LazyAttribute(
        lambda note: [
            {
                "document": "33",
                "serial": str(note.invoice.number),
                "date": note.invoice.date.isoformat(),
                "code": 3,
                "description": note.description,
            }
        ]
    )

    @factory.post_generation
    def lines(note, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if not create:
            return
        line_model = CreditNoteLine if isinstance(note, CreditNote) else DebitNoteLine
        lines = [line_model(note=note, name="Ajuste", amount=Decimal(100))]
        apply_totals(note, lines)
        line_model.objects.bulk_create(lines)
        note.save()


class CreditNoteFactory(NoteFactory):
    class Meta:
        model = CreditNote

    document_id = 61


class DebitNoteFactory(NoteFactory):
    class Meta:
        model = DebitNote

    document_id = 56


class OrderFactory(TenantFactory):
    """A draft order for a factura (33): one item of 1,000 + IVA (1,190)."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    customer = factory.SubFactory(
        CustomerFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    currency_id = "CLP"
    document_id = 33
    tax_percent = Decimal(19)
    amount = Decimal(1000)
    subtotal = Decimal(1000)
    tax = Decimal(190)
    total = Decimal(1190)

    @factory.post_generation
    def items(order, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            OrderItem.objects.create(order=order, name="Item", amount=Decimal(1000), total=1000)


FACTORIES.update({CreditNote: CreditNoteFactory, DebitNote: DebitNoteFactory, Order: OrderFactory})


# Payments

from payments.models import Intent, Payment, PaymentGateway, PaymentLink, Source  # noqa: E402


class SourceFactory(TenantFactory):
    """A reusable sandbox card that succeeds (the token of 4242 4242 4242 4242)."""

    class Meta:
        model = Source

    customer = factory.SubFactory(
        CustomerFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    gateway = "sandbox"
    usage = "reusable"
    status = "chargeable"
    card_brand = "visa"
    card_last4 = "4242"
    card_exp_month = 12
    card_exp_year = 2034
    gateway_token = factory.Sequence(lambda n: f"tok_01FACTORY{n:016d}_ok")


class PaymentFactory(TenantFactory):
    """A succeeded CLP payment of 1,190 with no allocation."""

    class Meta:
        model = Payment

    customer = factory.SubFactory(
        CustomerFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    amount = Decimal(1190)
    currency_id = "CLP"
    date = factory.LazyFunction(lambda: datetime.date(2026, 1, 20))
    status = "succeeded"


class PaymentGatewayFactory(TenantFactory):
    class Meta:
        model = PaymentGateway

    gateway = "stripe"
    publishable_key = "pk_test_factory"
    secret_key = "sk_test_factory_secret"
    webhook_secret = "whsec_factory_secret"


class PaymentLinkFactory(TenantFactory):
    class Meta:
        model = PaymentLink

    publishable_key = factory.Sequence(lambda n: f"pk_link_factory{n:010d}")
    amount = Decimal(5000)
    currency_id = "CLP"
    description = "Consulting"


class IntentFactory(TenantFactory):
    class Meta:
        model = Intent

    amount = Decimal(1190)
    currency_id = "CLP"
    client_secret = factory.Sequence(lambda n: f"int_factory_secret_{n:010d}")


FACTORIES.update(
    {
        Source: SourceFactory,
        Payment: PaymentFactory,
        PaymentGateway: PaymentGatewayFactory,
        PaymentLink: PaymentLinkFactory,
        Intent: IntentFactory,
    }
)


# Procurement


class SupplierFactory(TenantFactory):
    class Meta:
        model = Supplier

    name = factory.Sequence(lambda n: f"Supplier {n}")
    country = factory.LazyFunction(lambda: Country.objects.get(code="CL"))
    currency_id = "CLP"
    tax_id = factory.Sequence(lambda n: _rut(500_000 + n))


class _SupplierDocumentFactory(TenantFactory):
    class Meta:
        abstract = True
        skip_postgeneration_save = True

    supplier = factory.SubFactory(
        SupplierFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    currency_id = "CLP"
    date = factory.LazyFunction(lambda: datetime.date(2026, 1, 15))


class PurchaseFactory(_SupplierDocumentFactory):
    """A draft factura (33) received from a supplier: 1,000 + IVA, the supplier's folio."""

    class Meta:
        model = Purchase

    document_id = 33
    number = factory.Sequence(lambda n: n + 1)
    tax_percent = Decimal(19)

    @factory.post_generation
    def lines(purchase, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            lines = [PurchaseLine(purchase=purchase, name="Item", amount=Decimal(1000))]
            apply_totals(purchase, lines)
            PurchaseLine.objects.bulk_create(lines)
            purchase.save()


class FinalizedPurchaseFactory(PurchaseFactory):
    status = "finalized"
    biller_status = "pending"


class PurchaseCreditNoteFactory(_SupplierDocumentFactory):
    """A draft credit note (61) of the supplier on a finalized purchase: 100 + IVA."""

    class Meta:
        model = PurchaseCreditNote

    purchase = factory.SubFactory(
        FinalizedPurchaseFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    supplier = factory.SelfAttribute("purchase.supplier")
    document_id = 61
    number = factory.Sequence(lambda n: n + 1)
    reason = 3
    description = ""
    tax_percent = Decimal(19)
    # The reference the service writes (procurement.services.credit_notes._price).
    references = factory.LazyAttribute(
        lambda note: [
            {
                "document": "33",
                "serial": str(note.purchase.number),
                "date": note.purchase.date.isoformat(),
                "code": 3,
                "description": note.description,
            }
        ]
    )

    @factory.post_generation
    def lines(note, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            lines = [PurchaseCreditNoteLine(note=note, name="Ajuste", amount=Decimal(100))]
            apply_totals(note, lines)
            PurchaseCreditNoteLine.objects.bulk_create(lines)
            note.save()


class RetentionFactory(_SupplierDocumentFactory):
    """A draft boleta de honorarios (BTE) of 100,000 gross at 2026's 15.25%."""

    class Meta:
        model = Retention

    document_id = 900
    self_issued = True
    retention_percent = Decimal("15.25")

    @factory.post_generation
    def lines(retention, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            line = RetentionLine(
                retention_document=retention,
                name="Honorarios",
                amount=Decimal(100000),
                exempt=True,
                retention_percent=retention.retention_percent,
            )
            apply_totals(retention, [line])
            RetentionLine.objects.bulk_create([line])
            retention.save()


FACTORIES.update(
    {
        Supplier: SupplierFactory,
        Purchase: PurchaseFactory,
        PurchaseCreditNote: PurchaseCreditNoteFactory,
        Retention: RetentionFactory,
    }
)


# Subscriptions
from subscriptions.models import Subscription, SubscriptionLine  # noqa: E402


class SubscriptionFactory(TenantFactory):
    """An active monthly subscription to one 10,000 CLP plan, next billed 2026-02-01."""

    class Meta:
        model = Subscription
        skip_postgeneration_save = True

    customer = factory.SubFactory(
        CustomerFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    document_id = 33
    currency_id = "CLP"
    frequency = "monthly"
    date_start = factory.LazyFunction(lambda: datetime.date(2026, 1, 1))
    billing_anchor = factory.SelfAttribute("date_start")
    previous_billing = factory.SelfAttribute("date_start")
    cycles_billed = 1
    next_billing = factory.LazyFunction(lambda: datetime.date(2026, 2, 1))
    next_billing_at = factory.LazyFunction(
        lambda: datetime.datetime(2026, 2, 1, 3, 0, tzinfo=datetime.UTC)
    )

    @factory.post_generation
    def lines(subscription, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            plan = PlanFactory(workspace=subscription.workspace, test_mode=subscription.test_mode)
            SubscriptionLine.objects.create(subscription=subscription, plan=plan)


FACTORIES.update({Subscription: SubscriptionFactory})


# Metering
from metering.models import Event as UsageEvent  # noqa: E402
from metering.models import Feature, Meter, UsageRecord  # noqa: E402


class MeterFactory(TenantFactory):
    class Meta:
        model = Meter

    name = factory.Sequence(lambda n: f"Meter {n}")
    event_name = "api_call"
    aggregation = "sum"
    field = "tokens"


class FeatureFactory(TenantFactory):
    class Meta:
        model = Feature

    key = factory.Sequence(lambda n: f"feature_{n}")
    name = factory.Sequence(lambda n: f"Feature {n}")
    feature_type = "metered"
    meter = factory.SubFactory(
        MeterFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )


class UsageEventFactory(TenantFactory):
    """A stored usage event (the table the event store writes; read-only in the API)."""

    class Meta:
        model = UsageEvent

    event_id = factory.Sequence(lambda n: f"evt-{n}")
    event_name = "api_call"
    customer_key = "cus_unknown"
    timestamp = factory.LazyFunction(
        lambda: datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC)
    )
    properties = factory.LazyFunction(lambda: {"tokens": 1})
    received_at = factory.SelfAttribute("timestamp")


class UsageRecordFactory(TenantFactory):
    """A usage record on the metered line of a subscription of its own."""

    class Meta:
        model = UsageRecord

    subscription = factory.SubFactory(
        SubscriptionFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    subscription_line = factory.LazyAttribute(lambda record: record.subscription.lines.first())
    plan = factory.LazyAttribute(lambda record: record.subscription_line.plan)
    quantity = Decimal(3)
    date_time = factory.LazyFunction(
        lambda: datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC)
    )


FACTORIES.update(
    {
        Meter: MeterFactory,
        Feature: FeatureFactory,
        UsageEvent: UsageEventFactory,
        UsageRecord: UsageRecordFactory,
    }
)
