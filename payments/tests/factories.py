"""Factories of payments, sources, gateway connections, payment links and intents."""

import datetime
from decimal import Decimal

import factory

from billing.tests.factories import TenantFactory
from customers.tests.factories import CustomerFactory
from payments.models import Intent, Payment, PaymentGateway, PaymentLink, Source


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


FACTORIES: dict[type, type[TenantFactory]] = {
    Source: SourceFactory,
    Payment: PaymentFactory,
    PaymentGateway: PaymentGatewayFactory,
    PaymentLink: PaymentLinkFactory,
    Intent: IntentFactory,
}
