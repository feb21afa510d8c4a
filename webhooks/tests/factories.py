"""Factories of webhook endpoints."""

import factory

from billing.tests.factories import TenantFactory
from webhooks.models import WebhookEndpoint
from webhooks.signing import new_secret


class WebhookEndpointFactory(TenantFactory):
    class Meta:
        model = WebhookEndpoint

    url = factory.Sequence(lambda n: f"https://hooks{n}.example.com/billing")
    events = factory.LazyFunction(lambda: ["*"])
    secret = factory.LazyFunction(new_secret)


FACTORIES: dict[type, type[TenantFactory]] = {WebhookEndpoint: WebhookEndpointFactory}
