"""Factories of subscriptions."""

import datetime

import factory

from billing.tests.factories import TenantFactory
from catalog.tests.factories import PlanFactory
from customers.tests.factories import CustomerFactory
from subscriptions.models import Subscription, SubscriptionLine


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


FACTORIES: dict[type, type[TenantFactory]] = {Subscription: SubscriptionFactory}
