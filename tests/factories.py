"""factory_boy factories for every model the API serves.

The isolation matrix (tests/test_isolation.py) looks up a factory here for each model
behind a route, so a new resource must add its factory to FACTORIES.
"""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from stdnum.cl import rut

from billing.models import Country, Event, Membership, Workspace
from catalog.models import AddOn, Coupon, Plan, Product, Tax
from customers.models import Contact, Customer
from invoices.documents import apply_totals
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
