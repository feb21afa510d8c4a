"""What we gave up on is closed at Stripe too, so the payer cannot pay it there any more:
an intent that expired or was cancelled while its Checkout session was open has that
session expired, and a payment left at 3-D Secure that expired or was cancelled has its
PaymentIntent cancelled.

Our side is committed first (an intent or payment is marked `gateway_close_due` in the
transaction that gives it up); Stripe is called afterwards, with no transaction open, by
the expiry sweep (every minute). A call Stripe could not answer (unreachable, the key
refused) leaves the mark, and the next sweep tries again; one Stripe refuses as invalid
(already completed, paid or closed) clears it. Money Stripe took before the close is
recorded by its event and refunded when it is not owed (`stripe_unowed`).
"""

import logging
from itertools import chain

from billing.errors import DomainError
from payments.choices import GatewayKind
from payments.gateways.stripe_gateway import StripeGateway, StripeUnavailable
from payments.models import Intent, Payment, PaymentGateway

logger = logging.getLogger(__name__)


def stripe_close_due(*, limit: int = 200) -> int:
    """Close at Stripe the intents' Checkout sessions and the payments' PaymentIntents
    marked `gateway_close_due`, making at most `limit` calls; how many were closed (or
    found closed already). A workspace whose call fails is passed over for the rest of
    the run (its other calls would fail alike), so it holds up no other workspace."""
    intents = Intent.objects.filter(gateway_close_due=True).exclude(checkout_session="")
    payments = Payment.objects.filter(gateway_close_due=True).exclude(gateway_reference="")
    failing: set[tuple[str, bool]] = set()
    closed = calls = 0
    rows: chain[Intent | Payment] = chain(
        intents.order_by("id").iterator(), payments.order_by("id").iterator()
    )
    for row in rows:
        scope = (row.workspace_id, row.test_mode)
        if scope in failing:
            continue
        if calls >= limit:
            break
        calls += 1
        if _close(row):
            closed += 1
        else:
            failing.add(scope)
    return closed


def _close(row: Intent | Payment) -> bool:
    # A connection disabled for new payments still closes what was opened through it.
    connection = (
        PaymentGateway.objects.filter(
            workspace_id=row.workspace_id, test_mode=row.test_mode, gateway=GatewayKind.STRIPE
        )
        .exclude(secret_key="")
        .first()
    )
    if connection is not None:
        gateway = StripeGateway(connection.secret_key)
        try:
            if isinstance(row, Intent):
                gateway.expire_checkout_session(row.checkout_session)
            else:
                gateway.cancel_payment_intent(row.gateway_reference)
        except (StripeUnavailable, DomainError) as error:
            logger.warning("%s not closed at Stripe yet: %s", row.pk, error)
            return False  # still marked: the next sweep tries again
    # Without a Stripe connection there is nothing to call.
    type(row).objects.filter(pk=row.pk).update(gateway_close_due=False)
    return True
