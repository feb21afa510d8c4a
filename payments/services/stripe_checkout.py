"""Payment links paid on Stripe Checkout when the workspace has Stripe: the hosted page
sends the payer there, and Stripe's `checkout.session.completed` event (not the
redirect back) records the payment."""

from datetime import datetime

from django.db import transaction

from billing.errors import DomainError
from payments.gateways.registry import stripe_connection
from payments.gateways.stripe_gateway import StripeGateway, StripeUnavailable
from payments.models import Intent, PaymentLink
from payments.services.intents import intent_create
from payments.services.links import LinkUnavailable, check_link_open, payment_link_amount


@transaction.atomic
def payment_link_checkout_at_gateway(
    *, link: PaymentLink, success_url: str, cancel_url: str, now: datetime
) -> tuple[Intent, str] | None:
    """An intent for the link and the Stripe Checkout page that pays it, or None when
    the workspace has no Stripe connection (the page then takes sandbox cards)."""
    connection = stripe_connection(link.workspace_id, link.test_mode)
    if connection is None:
        return None
    link = PaymentLink.objects.select_for_update(of=("self",)).get(pk=link.pk)
    check_link_open(link, now)
    amount = payment_link_amount(link)
    if amount <= 0:
        raise LinkUnavailable("payment_link_paid", "This payment link is paid.")
    intent = intent_create(
        workspace=link.workspace,
        test_mode=link.test_mode,
        payment_link=link,
        amount=amount,
        now=now,
        return_url=link.return_url,
    )
    if link.invoice_id is not None:
        intent.invoice_id = link.invoice_id
        intent.save(update_fields=["invoice", "updated_at"])
    try:
        _, url = StripeGateway(connection.secret_key).payment_session(
            amount=amount,
            currency=link.currency_id,
            description=link.description,
            success_url=success_url.replace("{INTENT}", intent.id),
            cancel_url=cancel_url,
            reference=intent.id,
        )
    except StripeUnavailable as error:
        raise DomainError("stripe_unavailable", error.message) from None
    return intent, url
