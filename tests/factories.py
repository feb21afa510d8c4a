"""Every app's factories in one place, for the cross-app tests and for tests written
before each app kept its own (`<app>/tests/factories.py`, where new factories go).

The isolation matrix (tests/test_isolation.py) and the list query counts
(tests/test_list_queries.py) look up a factory in FACTORIES for each model behind a
route, so a new resource adds its factory to its app's FACTORIES and that app here.
"""

from billing.tests import factories as billing
from billing.tests.factories import (
    EventFactory,
    MembershipFactory,
    TenantFactory,
    UserFactory,
    WorkspaceFactory,
)
from bulks.tests import factories as bulks
from catalog.tests import factories as catalog
from catalog.tests.factories import (
    AddOnFactory,
    CouponFactory,
    PlanFactory,
    ProductFactory,
    TaxFactory,
)
from customers.tests import factories as customers
from customers.tests.factories import ContactFactory, CustomerFactory
from invoices.tests import factories as invoices
from invoices.tests.factories import (
    CreditNoteFactory,
    DebitNoteFactory,
    FinalizedInvoiceFactory,
    InvoiceFactory,
    NoteFactory,
    OrderFactory,
)
from metering.tests import factories as metering
from organization.tests import factories as organization
from organization.tests.factories import BankAccountFactory, BillerFactory, OrgUnitFactory
from payments.tests import factories as payments
from payments.tests.factories import (
    IntentFactory,
    PaymentFactory,
    PaymentGatewayFactory,
    PaymentLinkFactory,
    SourceFactory,
)
from procurement.tests import factories as procurement
from procurement.tests.factories import (
    FinalizedPurchaseFactory,
    PurchaseCreditNoteFactory,
    PurchaseFactory,
    RetentionFactory,
    SupplierFactory,
)
from reminders.tests import factories as reminders
from reminders.tests.factories import (
    ReminderMessageFactory,
    ReminderRuleFactory,
    ReminderTemplateFactory,
)
from subscriptions.tests import factories as subscriptions
from subscriptions.tests.factories import SubscriptionFactory
from webhooks.tests import factories as webhooks
from webhooks.tests.factories import WebhookEndpointFactory

FACTORIES: dict[type, type[TenantFactory]] = {
    **billing.FACTORIES,
    **customers.FACTORIES,
    **catalog.FACTORIES,
    **webhooks.FACTORIES,
    **invoices.FACTORIES,
    **payments.FACTORIES,
    **procurement.FACTORIES,
    **subscriptions.FACTORIES,
    **organization.FACTORIES,
    **bulks.FACTORIES,
    **reminders.FACTORIES,
    **metering.FACTORIES,
}

__all__ = [
    "FACTORIES",
    "AddOnFactory",
    "BankAccountFactory",
    "BillerFactory",
    "ContactFactory",
    "CouponFactory",
    "CreditNoteFactory",
    "CustomerFactory",
    "DebitNoteFactory",
    "EventFactory",
    "FinalizedInvoiceFactory",
    "FinalizedPurchaseFactory",
    "IntentFactory",
    "InvoiceFactory",
    "MembershipFactory",
    "NoteFactory",
    "OrderFactory",
    "OrgUnitFactory",
    "PaymentFactory",
    "PaymentGatewayFactory",
    "PaymentLinkFactory",
    "PlanFactory",
    "ProductFactory",
    "PurchaseCreditNoteFactory",
    "PurchaseFactory",
    "ReminderMessageFactory",
    "ReminderRuleFactory",
    "ReminderTemplateFactory",
    "RetentionFactory",
    "SourceFactory",
    "SubscriptionFactory",
    "SupplierFactory",
    "TaxFactory",
    "TenantFactory",
    "UserFactory",
    "WebhookEndpointFactory",
    "WorkspaceFactory",
]
