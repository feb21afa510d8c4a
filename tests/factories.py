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
from customers.models import Contact, Customer
from invoices.documents import apply_totals
from invoices.models import Invoice, InvoiceLine
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
