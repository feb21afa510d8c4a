"""Gateways by kind. A kind without an implementation is refused with a stable code."""

from billing.errors import DomainError
from payments.choices import GatewayKind
from payments.gateways.base import Gateway
from payments.gateways.sandbox import SandboxGateway

_GATEWAYS: dict[str, Gateway] = {GatewayKind.SANDBOX: SandboxGateway()}


def gateway_for(kind: str) -> Gateway:
    gateway = _GATEWAYS.get(kind)
    if gateway is None:
        raise DomainError(
            "gateway_not_supported",
            f"Charging through the {kind} gateway is not available on this server yet.",
            status_code=422,
        )
    return gateway
