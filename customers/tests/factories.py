"""Factories of customers and contacts."""

import factory

from billing.models import Country
from billing.tests.factories import TenantFactory, chilean_rut
from customers.models import Contact, Customer


class CustomerFactory(TenantFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    country = factory.LazyFunction(lambda: Country.objects.get(code="CL"))
    currency_id = "CLP"
    tax_id = factory.Sequence(chilean_rut)
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


FACTORIES: dict[type, type[TenantFactory]] = {Customer: CustomerFactory, Contact: ContactFactory}
