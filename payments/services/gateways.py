"""A workspace's gateway connections."""

from typing import Any, TypedDict, Unpack

from django.db import transaction

from billing.errors import DomainError, InvalidInput
from billing.models import Workspace
from payments.choices import GatewayKind
from payments.models import PaymentGateway


class GatewaySettings(TypedDict, total=False):
    """What a connection's create or update may set besides its kind."""

    enabled: bool
    publishable_key: str
    secret_key: str
    webhook_secret: str
    metadata: dict[str, Any]


class GatewayUpdate(GatewaySettings, total=False):
    # A PUT sends the kind back; only the same one is accepted.
    gateway: str


@transaction.atomic
def payment_gateway_create(
    *, workspace: Workspace, test_mode: bool, gateway: str, **fields: Unpack[GatewaySettings]
) -> PaymentGateway:
    if PaymentGateway.objects.filter(
        workspace=workspace, test_mode=test_mode, gateway=gateway
    ).exists():
        raise DomainError(
            "gateway_exists", f"The {gateway} gateway is already set up; update it instead."
        )
    return PaymentGateway.objects.create(
        workspace=workspace, test_mode=test_mode, gateway=gateway, **fields
    )


@transaction.atomic
def payment_gateway_update(
    *, connection: PaymentGateway, **fields: Unpack[GatewayUpdate]
) -> PaymentGateway:
    """Change a connection's settings. Its `gateway` (the kind) is fixed at create: the
    same value is accepted, as a PUT sends it, and another one is refused."""
    connection = PaymentGateway.objects.select_for_update().get(pk=connection.pk)
    if fields.pop("gateway", connection.gateway) != connection.gateway:
        raise InvalidInput({"gateway": ["A connection's gateway cannot change."]})
    for name, value in fields.items():
        setattr(connection, name, value)
    connection.save()
    return connection


@transaction.atomic
def payment_gateway_delete(*, gateway: PaymentGateway) -> None:
    gateway.delete()


@transaction.atomic
def payment_gateways_provision(*, workspace: Workspace, test_mode: bool) -> None:
    """Give the workspace its built-in sandbox gateway row, once (the list shows it)."""
    PaymentGateway.objects.get_or_create(
        workspace=workspace, test_mode=test_mode, gateway=GatewayKind.SANDBOX
    )
