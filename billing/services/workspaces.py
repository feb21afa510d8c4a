import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict, Unpack
from zoneinfo import available_timezones

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from billing.auth_cache import api_keys_forget
from billing.errors import DomainError, InvalidInput
from billing.models import ApiToken, Comuna, Country, Currency, Membership, Workspace
from billing.tax_ids import InvalidTaxId, normalize_tax_id


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str


@transaction.atomic
def api_token_issue(*, user: User, now: datetime) -> IssuedToken:
    """Issue a new API key for `user`, revoking the active one (one active per user)."""
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    api_keys_forget(active.values_list("key_hash", flat=True))
    active.update(revoked_at=now)
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(user=user, key_hash=hash_token_key(key), key_prefix=key[:8])
    return IssuedToken(token=token, key=key)


def workspace_setup_errors(*, currency: str | None, timezone: str | None) -> dict[str, list[str]]:
    """What a new workspace's dates and amounts are computed in must be known: an IANA
    timezone (America/Santiago) and a currency of the reference data (CLP)."""
    errors: dict[str, list[str]] = {}
    if timezone is not None and timezone not in available_timezones():
        errors["timezone"] = [
            f"Unknown timezone {timezone!r}; use an IANA name (America/Santiago)."
        ]
    if currency is not None and not Currency.objects.filter(code=currency).exists():
        errors["currency"] = [f"Unknown currency code {currency!r} (codes are upper-case: CLP)."]
    return errors


@transaction.atomic
def workspace_create(
    *, name: str, country_code: str, tax_id: str = "", timezone: str | None = None
) -> Workspace:
    country = Country.objects.filter(code=country_code.upper()).first()
    if country is None:
        raise InvalidInput({"country": [f"Unknown country code {country_code!r}."]})
    errors = workspace_setup_errors(currency=None, timezone=timezone)
    if errors:
        raise InvalidInput(errors)
    if tax_id:
        try:
            tax_id = normalize_tax_id(country.code, tax_id)
        except InvalidTaxId as exc:
            raise InvalidInput({"tax_id": [str(exc)]}) from exc
    return Workspace.objects.create(
        name=name,
        country=country,
        currency=country.currency_id,
        timezone=timezone or country.default_timezone,
        tax_id=tax_id,
    )


@transaction.atomic
def workspace_add_member(
    *, workspace: Workspace, user: User, role: str = Membership.Role.MEMBER
) -> Membership:
    membership, _ = Membership.objects.get_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
    return membership


def _refuse_leaving_no_owner(membership: Membership) -> None:
    """Only owners set what the workspace's documents print: one always remains."""
    owners = Membership.objects.select_for_update().filter(
        workspace_id=membership.workspace_id, role=Membership.Role.OWNER
    )
    if list(owners.values_list("pk", flat=True)) == [membership.pk]:
        raise DomainError(
            "last_owner",
            "This is the workspace's last owner; make another member its owner first.",
        )


@transaction.atomic
def workspace_member_set_role(*, membership: Membership, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise InvalidInput({"role": [f"Not a role: {role!r}."]})
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Membership.Role.OWNER and role != Membership.Role.OWNER:
        _refuse_leaving_no_owner(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def workspace_remove_member(*, membership: Membership) -> None:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Membership.Role.OWNER:
        _refuse_leaving_no_owner(membership)
    membership.delete()


class IssuerFields(TypedDict, total=False):
    """What documents print of their issuer (Chile's Emisor), settable by the workspace's
    owner."""

    legal_name: str
    activity_description: str
    activity_code: int | None
    address: str
    comuna: Comuna | None
    city: str
    sii_office: str
    sii_resolution_number: int | None
    sii_resolution_date: date | None
    email: str
    logo_url: str


ISSUER_FIELDS = tuple(IssuerFields.__annotations__)
# The SII's códigos de actividad económica have six digits (620200: software).
ACTIVITY_CODES = range(100000, 1000000)


def workspace_issuer_errors(workspace: Workspace) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    comuna: Comuna | None = workspace.comuna
    if comuna is not None and workspace.country_id != "CL":
        errors["comuna"] = [f"Comunas are Chilean; the workspace is in {workspace.country_id}."]
    code = workspace.activity_code
    if code is not None and code not in ACTIVITY_CODES:
        errors["activity_code"] = ["The SII's activity code (Acteco) has six digits."]
    resolution: date | None = workspace.sii_resolution_date
    if (workspace.sii_resolution_number is None) != (resolution is None):
        errors["sii_resolution_date"] = ["Send the resolution's number and date together."]
    # The checkout pages load it in the payer's browser: a web address, nothing else.
    if workspace.logo_url and not workspace.logo_url.startswith(("https://", "http://")):
        errors["logo_url"] = ["The logo must be an http(s) address."]
    return errors


@transaction.atomic
def workspace_update_issuer(*, workspace: Workspace, **fields: Unpack[IssuerFields]) -> Workspace:
    """Set what documents print of their issuer: legal name, giro, acteco, head office and
    the SII's resolution."""
    unknown = set(fields) - set(ISSUER_FIELDS)
    if unknown:
        raise InvalidInput({name: ["Not an issuer field."] for name in sorted(unknown)})
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    for name, value in fields.items():
        setattr(workspace, name, value)
    errors = workspace_issuer_errors(workspace)
    if errors:
        raise InvalidInput(errors)
    workspace.save()
    return workspace


@transaction.atomic
def workspace_bootstrap(
    *,
    name: str,
    country_code: str,
    email: str,
    now: datetime,
    tax_id: str = "",
    issuer: IssuerFields | None = None,
) -> tuple[Workspace, IssuedToken]:
    """Create (or reuse) a workspace named `name` and its owner `email`, and issue a key.

    Reuse keeps re-running the bootstrap harmless; a fresh key is issued every time because
    only hashes are stored, so an earlier key cannot be shown again.
    """
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=email, defaults={"email": email})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    workspace = (
        Workspace.objects.filter(name=name, memberships__user=user).order_by("created_at").first()
    )
    if workspace is None:
        workspace = workspace_create(name=name, country_code=country_code, tax_id=tax_id)
    if issuer:
        workspace = workspace_update_issuer(workspace=workspace, **issuer)
    workspace_add_member(workspace=workspace, user=user, role=Membership.Role.OWNER)
    return workspace, api_token_issue(user=user, now=now)
