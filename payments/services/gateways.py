"""A workspace's gateway connections. A Stripe connection's secret key is checked with
Stripe when it is set: a key Stripe refuses is never stored."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict, Unpack

from django.db import transaction

from billing.errors import DomainError, InvalidInput
from billing.models import Workspace
from payments.choices import ConnectionStatus, GatewayKind
from payments.gateways.stripe_gateway import StripeGateway, StripeUnavailable
from payments.models import PaymentGateway

# What each Stripe credential looks like in test mode and in live mode: it catches a
# key pasted in the wrong field, and a test key on a live connection (or the reverse).
_STRIPE_PREFIXES: dict[str, dict[bool, tuple[str, ...]]] = {
    "secret_key": {True: ("sk_test_", "rk_test_"), False: ("sk_live_", "rk_live_")},
    "publishable_key": {True: ("pk_test_",), False: ("pk_live_",)},
    "webhook_secret": {True: ("whsec_",), False: ("whsec_",)},
}


def _stripe_fields_errors(fields: Mapping[str, Any], *, test_mode: bool) -> dict[str, list[str]]:
    """Each Stripe credential in `fields` that is not of its kind or of the connection's
    mode, with what it should start with."""
    mode = "test" if test_mode else "live"
    errors = {}
    for name, by_mode in _STRIPE_PREFIXES.items():
        prefixes = by_mode[test_mode]
        if fields.get(name) and not str(fields[name]).startswith(prefixes):
            errors[name] = [
                f"A Stripe {name.replace('_', ' ')} of a {mode}-mode connection starts with "
                f"{' or '.join(prefixes)}."
            ]
    return errors


def _check_stripe_fields(fields: Mapping[str, Any], *, test_mode: bool) -> None:
    errors = _stripe_fields_errors(fields, test_mode=test_mode)
    if errors:
        raise InvalidInput(errors)


def _ask_stripe(secret_key: str) -> None:
    try:
        StripeGateway(secret_key).verify_credentials()
    except StripeUnavailable as refused:
        raise InvalidInput({"secret_key": [refused.message]}) from None


def stripe_key_check(*, fields: Mapping[str, Any], test_mode: bool, current_key: str = "") -> str:
    """Check a new Stripe secret key with Stripe before the caller's transaction opens,
    so no lock is held while Stripe answers. Returns the key checked, to hand to
    `payment_gateway_create` / `_update` as `checked_key`, or "" when there was none to
    check (absent, unchanged, or refused by the prefix check the service makes)."""
    secret_key = fields.get("secret_key")
    if not isinstance(secret_key, str) or not secret_key or secret_key == current_key:
        return ""
    _check_stripe_fields(fields, test_mode=test_mode)
    _ask_stripe(secret_key)
    return secret_key


def _verify_stripe_key(connection: PaymentGateway, now: datetime, checked_key: str) -> None:
    if not connection.secret_key:
        raise InvalidInput({"secret_key": ["A Stripe connection needs its secret key."]})
    if connection.secret_key != checked_key:
        _ask_stripe(connection.secret_key)
    connection.status = ConnectionStatus.CONNECTED
    connection.verified_at = now
    connection.last_error = ""


class GatewaySettings(TypedDict, total=False):
    """What a connection's create or update may set besides its kind."""

    enabled: bool
    publishable_key: str
    secret_key: str
    webhook_secret: str
    sync_customers: bool
    sync_invoices: bool
    metadata: dict[str, Any]


class GatewayUpdate(GatewaySettings, total=False):
    # A PUT sends the kind back; only the same one is accepted.
    gateway: str


@transaction.atomic
def payment_gateway_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    gateway: str,
    now: datetime,
    checked_key: str = "",
    **fields: Unpack[GatewaySettings],
) -> PaymentGateway:
    """Set a gateway up. A Stripe secret key is checked with Stripe here unless it is
    `checked_key`, which `stripe_key_check` verified before the transaction opened."""
    if PaymentGateway.objects.filter(
        workspace=workspace, test_mode=test_mode, gateway=gateway
    ).exists():
        raise DomainError(
            "gateway_exists", f"The {gateway} gateway is already set up; update it instead."
        )
    connection = PaymentGateway(workspace=workspace, test_mode=test_mode, gateway=gateway, **fields)
    if gateway == GatewayKind.STRIPE:
        _check_stripe_fields(fields, test_mode=test_mode)
        _verify_stripe_key(connection, now, checked_key)
    connection.save()
    return connection


@transaction.atomic
def payment_gateway_update(
    *,
    connection: PaymentGateway,
    now: datetime,
    checked_key: str = "",
    **fields: Unpack[GatewayUpdate],
) -> PaymentGateway:
    """Change a connection's settings. Its `gateway` (the kind) is fixed at create: the
    same value is accepted, as a PUT sends it, and another one is refused. A new Stripe
    secret key is checked with Stripe before it replaces the old one (unless it is
    `checked_key`, checked already)."""
    connection = PaymentGateway.objects.select_for_update().get(pk=connection.pk)
    if fields.pop("gateway", connection.gateway) != connection.gateway:
        raise InvalidInput({"gateway": ["A connection's gateway cannot change."]})
    key_changed = "secret_key" in fields and fields["secret_key"] != connection.secret_key
    # Only what changes is checked: a retrieved connection PUT back unchanged keeps what
    # it holds, credentials stored before their mode was checked included.
    changed = {name: value for name, value in fields.items() if getattr(connection, name) != value}
    for name, value in fields.items():
        setattr(connection, name, value)
    if connection.gateway == GatewayKind.STRIPE:
        _check_stripe_fields(changed, test_mode=connection.test_mode)
        if key_changed:
            _verify_stripe_key(connection, now, checked_key)
    connection.save()
    return connection


def payment_gateway_record_failure(*, connection_id: str, error: str) -> None:
    """Stripe refused the stored key on a call: show it on the connection."""
    PaymentGateway.objects.filter(pk=connection_id).update(
        status=ConnectionStatus.FAILING, last_error=error[:256]
    )


@transaction.atomic
def payment_gateway_delete(*, gateway: PaymentGateway) -> None:
    gateway.delete()


@transaction.atomic
def payment_gateways_provision(*, workspace: Workspace, test_mode: bool) -> None:
    """Give the workspace its built-in sandbox gateway row, once (the list shows it)."""
    PaymentGateway.objects.get_or_create(
        workspace=workspace, test_mode=test_mode, gateway=GatewayKind.SANDBOX
    )
