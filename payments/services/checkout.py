"""What the payer does: the hosted checkout pages, and the publishable (browser)
checkout, which has no API token, only a key the payer was given. The views find the
link, intent or payment by that key; these services never see the key."""

from datetime import datetime

from django.db import transaction

from billing.errors import DomainError, InvalidInput
from customers.models import Customer
from invoices.models import Invoice
from payments.choices import (
    INTENT_OPEN_STATUSES,
    GatewayKind,
    IntentStatus,
    PaymentStatus,
    SourceStatus,
    SourceUsage,
)
from payments.gateways.base import CardInput
from payments.models import Intent, Payment, PaymentLink, Source
from payments.services._common import (
    lock_payment_invoices,
    refuse_if_invoice_closed,
    took_money,
)
from payments.services.intents import (
    intent_cancel,
    intent_complete_authentication,
    intent_confirm,
    intent_create,
    intent_refuse_if_expired,
)
from payments.services.links import LinkUnavailable, check_link_open, payment_link_amount
from payments.services.payments import (
    check_payment_authorizable,
    payment_authorize,
    payment_complete_authentication,
)
from payments.services.sources import source_create, source_set_default

PayerKeyOwner = PaymentLink | Intent | Payment

# The gateway the hosted checkout charges through (its pages say so when it is a sandbox).
CHECKOUT_GATEWAY = GatewayKind.SANDBOX


def _payer_card_source(
    owner: PayerKeyOwner,
    card: CardInput,
    now: datetime,
    *,
    usage: str = SourceUsage.SINGLE,
    payer_scope: str = "",
) -> Source:
    """The payer's card, tokenized in memory into a sandbox source for `owner`'s customer."""
    return source_create(
        workspace=owner.workspace,
        test_mode=owner.test_mode,
        customer=owner.customer,
        gateway=CHECKOUT_GATEWAY,
        card=card,
        usage=usage,
        now=now,
        payer_scope=payer_scope,
    )


# The hosted checkout


@transaction.atomic
def payment_link_pay(
    *, link: PaymentLink, card: CardInput, attempt: str = "", now: datetime
) -> Intent:
    """One checkout attempt on the hosted page: an intent for the link, the card
    tokenized in memory into a single-use source, and the intent confirmed with it.

    `attempt` names the form the card came from: the same form submitted again (a
    double click, a resent POST) answers the intent its first submit made, charging
    nothing more. The link's lock makes a second submit wait for the first."""
    link = (
        PaymentLink.objects.select_for_update(of=("self",))
        .select_related("invoice")
        .get(pk=link.pk)
    )
    if attempt:
        made = Intent.objects.filter(payment_link=link, checkout_attempt=attempt).first()
        if made is not None:
            return made
    check_link_open(link, now)
    if not link.reusable:
        # A single-use link has one payer: a new attempt supersedes the one left at the
        # authentication step, which would otherwise hold the invoice's amount. A reusable
        # link's attempts are other payers' and stay theirs; one abandoned there lapses
        # when its authentication window closes (`payments_expire_due`).
        for abandoned in Intent.objects.filter(
            payment_link=link, status=IntentStatus.REQUIRES_PAYMENT_METHOD, payment__isnull=False
        ):
            intent_cancel(intent=abandoned, now=now)
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
        save_card_and_make_default=link.save_card_and_make_default,
    )
    intent.invoice, intent.checkout_attempt = link.invoice, attempt
    intent.save(update_fields=["invoice", "checkout_attempt", "updated_at"])
    return _confirm_with_card(intent, card, now)


def intent_pay_with_card(*, intent: Intent, card: CardInput, now: datetime) -> Intent:
    """The payer's card on the intent's hosted page: tokenized in memory into a
    single-use source, then the intent confirmed on-session. An intent past its expiry
    is expired (committed) and refused before the payment's transaction opens."""
    intent_refuse_if_expired(intent=intent, now=now)
    with transaction.atomic():
        return _confirm_with_card(intent, card, now)


def _confirm_with_card(intent: Intent, card: CardInput, now: datetime) -> Intent:
    """With `save_card_and_make_default` the card is kept (reusable) and, once the
    payment succeeds, becomes the customer's default source, as a card saved on Stripe
    Checkout does; otherwise it is spent by this payment."""
    saves = intent.save_card_and_make_default and intent.customer_id is not None
    usage = SourceUsage.REUSABLE if saves else SourceUsage.SINGLE
    source = _payer_card_source(intent, card, now, usage=usage)
    intent = intent_confirm(intent=intent, source=source, now=now)
    if saves and intent.status == IntentStatus.FINALIZED:
        Customer.objects.select_for_update().get(pk=intent.customer_id)
        source_set_default(source)
    elif saves and intent.status == IntentStatus.FAILED:
        # A declined card is not kept for later charges.
        Source.objects.filter(pk=source.pk).update(status=SourceStatus.FAILED, updated_at=now)
    return intent


# The publishable (browser) checkout


def _check_open_for_payer(owner: PayerKeyOwner, now: datetime) -> None:
    """Asked as confirm and authorize ask it: an intent or payment cancelled with its
    invoice (cancelled, or paid by other means) says what became of the invoice, not that
    the intent or payment is cancelled."""
    if isinstance(owner, PaymentLink):
        check_link_open(owner, now)
        return
    if isinstance(owner, Intent):
        if not took_money(owner.payment):
            refuse_if_invoice_closed(owner.invoice, f"intent {owner.id}")
        if owner.expires_at is not None and owner.expires_at <= now:
            raise DomainError("intent_expired", f"Intent {owner.id} has expired.")
        if owner.status not in INTENT_OPEN_STATUSES:
            raise DomainError("intent_invalid_transition", f"Intent {owner.id} is {owner.status}.")
        return
    if not took_money(owner):
        for invoice in Invoice.objects.filter(payment_allocations__payment=owner):
            refuse_if_invoice_closed(invoice, f"payment {owner.id}")
    if owner.status not in (PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.PROCESSING):
        raise DomainError("payment_invalid_transition", f"Payment {owner.id} is {owner.status}.")


@transaction.atomic
def source_create_for_payer(
    *,
    owner: PayerKeyOwner,
    card: CardInput,
    usage: str = SourceUsage.SINGLE,
    save_consent: bool = False,
    now: datetime,
) -> Source:
    """A sandbox card source created by the payer holding `owner`'s key, for `owner`'s
    customer, chargeable by the payer only through that checkout (`payer_scope`). Single
    use unless the payer consented to saving it; a reusable card also needs a known
    customer to belong to."""
    _check_open_for_payer(owner, now)
    if usage == SourceUsage.REUSABLE and not save_consent:
        raise InvalidInput(
            {"save_consent": ["Saving a reusable card needs the payer's consent (true)."]}
        )
    if usage == SourceUsage.REUSABLE and owner.customer_id is None:
        raise InvalidInput(
            {"usage": ["Only a checkout for a known customer can save a reusable card."]}
        )
    return _payer_card_source(owner, card, now, usage=usage, payer_scope=owner.id)


def _payer_source(payment: Payment, source_id: str) -> Source:
    """A source the payer of `payment` may charge: one created with this checkout's key.
    The customer's other saved sources are not the payer's to name: holding a payment's
    secret must not be enough to charge the card the customer saved for the merchant."""
    scopes = {payment.id}
    intent = Intent.objects.filter(payment=payment).first()
    if intent is not None:
        scopes.add(intent.id)
        if intent.payment_link_id:
            scopes.add(intent.payment_link_id)
    source = Source.objects.filter(
        pk=source_id,
        workspace_id=payment.workspace_id,
        test_mode=payment.test_mode,
        payer_scope__in=scopes,
    ).first()
    if source is None:
        raise InvalidInput({"source": ["No such source for this payment."]})
    return source


@transaction.atomic
def payment_authorize_by_payer(
    *,
    payment: Payment,
    card: CardInput | None = None,
    source_id: str | None = None,
    now: datetime,
) -> Payment:
    """The payer pays a payment waiting for a payment method with a card (tokenized in
    memory into a single-use source) or a source they may charge. On-session: a card
    that needs authentication leaves the payment processing until `authenticate`."""
    if (card is None) == (source_id is None):
        raise InvalidInput({"non_field_errors": ["Send either card or source."]})
    # Asked before a card source is made for it, with the invoices locked in the order
    # payment_authorize takes them.
    check_payment_authorizable(payment, lock_payment_invoices(payment))
    if card is not None:
        source = _payer_card_source(payment, card, now, payer_scope=payment.id)
    else:
        assert source_id is not None
        source = _payer_source(payment, source_id)
    return payment_authorize(payment=payment, source=source, now=now)


@transaction.atomic
def payment_authenticate_by_payer(*, payment: Payment, approved: bool, now: datetime) -> Payment:
    """The payer's answer to the gateway's authentication step; the payment's intent, if
    it has one, follows it."""
    expires_at = payment.authentication_expires_at
    if payment.status == PaymentStatus.PROCESSING and expires_at is not None and expires_at <= now:
        raise DomainError(
            "payment_authentication_expired",
            f"Payment {payment.id} waited too long for its authentication.",
        )
    intent = Intent.objects.filter(payment=payment).first()
    if intent is not None:
        intent_complete_authentication(intent=intent, approved=approved, now=now)
    else:
        payment_complete_authentication(payment=payment, approved=approved, now=now)
    return Payment.objects.get(pk=payment.pk)
