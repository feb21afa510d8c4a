"""Payment writes: sources, charges, allocations to invoices, refunds, links and intents.

Every service is atomic and records its events in the same transaction. Invoices a
payment applies to are locked first, always in id order, so two payments racing for the
same invoice are serialized and the second sees what the first took: an invoice is
never over-applied.

Gateways are called inside the transaction when they answer in process (the sandbox); a
remote one (Stripe) is called with no transaction open: the payment is reserved as
processing and committed, the gateway called, and the answer applied in a second
transaction, so that no lock is held over the wire (payments/services/payments.py).

The sub-domains live in their own modules; other apps import from this package.
"""

from payments.services.checkout import (
    PayerKeyOwner,
    intent_pay_with_card,
    payment_authenticate_by_payer,
    payment_authorize_by_payer,
    payment_link_pay,
    source_create_for_payer,
)
from payments.services.expiry import checkouts_expire_due, intents_expire_due, payments_expire_due
from payments.services.gateways import (
    payment_gateway_create,
    payment_gateway_delete,
    payment_gateway_update,
    payment_gateways_provision,
    stripe_key_check,
)
from payments.services.intents import (
    intent_cancel,
    intent_complete_authentication,
    intent_confirm,
    intent_create,
    intent_refuse_if_expired,
    payment_cancel_with_intent,
)
from payments.services.links import (
    LinkUnavailable,
    payment_link_amount,
    payment_link_create,
    payment_link_state,
)
from payments.services.payments import (
    PAYMENT_AUTHENTICATION_WINDOW,
    AllocationRequest,
    payment_authorize,
    payment_charge_invoice,
    payment_complete_authentication,
    payment_create,
    payment_refund,
    payment_refund_at_gateway,
)
from payments.services.sources import (
    CardDeclined,
    source_create,
    source_create_sandbox_card,
    source_disable,
    source_save_card_for_customer,
)
from payments.services.stripe_checkout import (
    intent_checkout_at_gateway,
    payment_link_checkout_at_gateway,
)
from payments.services.stripe_close import stripe_close_due
from payments.services.stripe_customers import (
    CardSetup,
    card_setup_open,
    card_setup_start,
    customer_sync_to_stripe,
)
from payments.services.stripe_events import (
    stripe_event_process,
    stripe_event_receive,
    stripe_event_reprocess,
    stripe_events_process_received,
)
from payments.services.stripe_invoices import invoice_sync_to_stripe
from payments.services.stripe_sync import stripe_sync_for_event

__all__ = [
    "PAYMENT_AUTHENTICATION_WINDOW",
    "AllocationRequest",
    "CardDeclined",
    "CardSetup",
    "LinkUnavailable",
    "PayerKeyOwner",
    "card_setup_open",
    "card_setup_start",
    "checkouts_expire_due",
    "customer_sync_to_stripe",
    "intent_cancel",
    "intent_checkout_at_gateway",
    "intent_complete_authentication",
    "intent_confirm",
    "intent_create",
    "intent_pay_with_card",
    "intent_refuse_if_expired",
    "intents_expire_due",
    "invoice_sync_to_stripe",
    "payment_authenticate_by_payer",
    "payment_authorize",
    "payment_authorize_by_payer",
    "payment_cancel_with_intent",
    "payment_charge_invoice",
    "payment_complete_authentication",
    "payment_create",
    "payment_gateway_create",
    "payment_gateway_delete",
    "payment_gateway_update",
    "payment_gateways_provision",
    "payment_link_amount",
    "payment_link_checkout_at_gateway",
    "payment_link_create",
    "payment_link_pay",
    "payment_link_state",
    "payment_refund",
    "payment_refund_at_gateway",
    "payments_expire_due",
    "source_create",
    "source_create_for_payer",
    "source_create_sandbox_card",
    "source_disable",
    "source_save_card_for_customer",
    "stripe_close_due",
    "stripe_event_process",
    "stripe_event_receive",
    "stripe_event_reprocess",
    "stripe_events_process_received",
    "stripe_key_check",
    "stripe_sync_for_event",
]
