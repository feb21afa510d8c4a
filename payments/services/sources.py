"""Card sources: the gateway's token and what may be shown of the card, never the card."""

from datetime import datetime
from typing import Any

from django.db import transaction

from billing.errors import DomainError, InvalidInput
from billing.models import Workspace
from customers.models import Customer
from payments.choices import GatewayKind, SourceStatus, SourceUsage
from payments.gateways.base import CardInput, CardRejected
from payments.gateways.registry import gateway_for
from payments.models import Source
from payments.services._common import check_gateway_enabled


def _tokenize(
    workspace: Workspace, test_mode: bool, gateway: str, card: CardInput, now: datetime
) -> Any:
    try:
        return gateway_for(gateway, workspace_id=workspace.pk, test_mode=test_mode).tokenize(
            card, today_year=now.year, today_month=now.month
        )
    except CardRejected as rejected:
        # Every request takes the card as `card` (sources, the publishable checkout): the
        # error is nested under it, as the serializer nests its own.
        raise InvalidInput({f"card.{rejected.field}": [rejected.message]}) from None


@transaction.atomic
def source_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    customer: Customer | None,
    gateway: str,
    card: CardInput,
    usage: str = SourceUsage.REUSABLE,
    now: datetime,
    metadata: dict[str, str] | None = None,
    payer_scope: str = "",
) -> Source:
    """Tokenize the card with the gateway (in memory) and store only the token and the
    card's display fields."""
    check_gateway_enabled(workspace, test_mode, gateway)
    tokenized = _tokenize(workspace, test_mode, gateway, card, now)
    return Source.objects.create(
        workspace=workspace,
        test_mode=test_mode,
        customer=customer,
        gateway=gateway,
        usage=usage,
        status=SourceStatus.CHARGEABLE,
        card_brand=tokenized.brand,
        card_last4=tokenized.last4,
        card_exp_month=tokenized.exp_month,
        card_exp_year=tokenized.exp_year,
        gateway_token=tokenized.token,
        metadata=metadata or {},
        payer_scope=payer_scope,
    )


def source_create_sandbox_card(
    *,
    customer: Customer,
    card_number: str,
    exp_month: int,
    exp_year: int,
    usage: str = SourceUsage.REUSABLE,
    now: datetime,
) -> Source:
    """A chargeable sandbox source for the customer from one of the test cards
    (payments.gateways.sandbox): 4242… succeeds, 4000…0002 is declined, 4000…9995 lacks
    funds, 4000 0025 0000 3155 needs the payer's authentication (off-session it fails)."""
    return source_create(
        workspace=customer.workspace,
        test_mode=customer.test_mode,
        customer=customer,
        gateway=GatewayKind.SANDBOX,
        card=CardInput(number=card_number, exp_month=exp_month, exp_year=exp_year),
        usage=usage,
        now=now,
    )


@transaction.atomic
def source_disable(*, source: Source) -> Source:
    """A source that can no longer be charged (the customer removed the card)."""
    source = Source.objects.select_for_update().get(pk=source.pk)
    source.status = SourceStatus.FINALIZED
    # A removed card is no one's default: nothing may take it in its place.
    source.default = False
    source.save(update_fields=["status", "default", "updated_at"])
    return source


def source_set_default(source: Source) -> Source:
    """The customer's card to use when nothing names another; the one before it no
    longer is. The caller holds the customer's row lock."""
    Source.objects.filter(customer_id=source.customer_id, default=True).exclude(
        pk=source.pk
    ).update(default=False)
    source.default = True
    source.save(update_fields=["default", "updated_at"])
    return source


class CardDeclined(DomainError):
    """The card's issuer refused to have the card kept; `failed_reason` says why."""

    def __init__(self, failed_reason: str) -> None:
        super().__init__(failed_reason, "The card was declined; it was not saved.", status_code=402)
        self.failed_reason = failed_reason


@transaction.atomic
def source_save_card_for_customer(*, customer: Customer, card: CardInput, now: datetime) -> Source:
    """The sandbox's card setup: the card the customer typed on our hosted page becomes
    their default source (tokenized in memory; only the token and display fields stay).
    The gateway checks it first: a card it declines is not saved (CardDeclined), as a
    card setup on Stripe's page is refused there."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    source = source_create(
        workspace=customer.workspace,
        test_mode=customer.test_mode,
        customer=customer,
        gateway=GatewayKind.SANDBOX,
        card=card,
        usage=SourceUsage.REUSABLE,
        now=now,
    )
    gateway = gateway_for(
        source.gateway, workspace_id=source.workspace_id, test_mode=source.test_mode
    )
    failed_reason = gateway.verify(token=source.gateway_token)
    if failed_reason:
        raise CardDeclined(failed_reason)  # the transaction's rollback forgets the source
    return source_set_default(source)
