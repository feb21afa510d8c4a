"""Gateways by kind, for a workspace: the sandbox is built in; Stripe needs the
workspace's connection (its secret key). A kind that cannot be used is refused with a
stable code."""

from billing.errors import DomainError
from payments.choices import GatewayKind
from payments.gateways.base import Gateway
from payments.gateways.sandbox import SandboxGateway
from payments.gateways.stripe_gateway import StripeGateway
from payments.models import PaymentGateway


def stripe_connection(workspace_id: str, test_mode: bool) -> PaymentGateway | None:
    """The workspace's enabled Stripe connection with a key, if it has one."""
    return (
        PaymentGateway.objects.filter(
            workspace_id=workspace_id, test_mode=test_mode, gateway=GatewayKind.STRIPE, enabled=True
        )
        .exclude(secret_key="")
        .first()
    )


def gateway_for(kind: str, *, workspace_id: str, test_mode: bool) -> Gateway:
    if kind == GatewayKind.SANDBOX:
        return SandboxGateway()
    if kind == GatewayKind.STRIPE:
        connection = stripe_connection(workspace_id, test_mode)
        if connection is not None:
            return StripeGateway(connection.secret_key)
        raise DomainError(
            "gateway_not_enabled", "The stripe gateway is not connected in this workspace."
        )
    raise DomainError(
        "gateway_not_supported",
        f"Charging through the {kind} gateway is not available on this server.",
        status_code=422,
    )
