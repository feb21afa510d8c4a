import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from billing.errors import InvalidInput
from billing.models import ApiToken, Country, Membership, Workspace
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
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(user=user, key_hash=hash_token_key(key), key_prefix=key[:8])
    return IssuedToken(token=token, key=key)


@transaction.atomic
def workspace_create(
    *, name: str, country_code: str, tax_id: str = "", timezone: str | None = None
) -> Workspace:
    country = Country.objects.filter(code=country_code.upper()).first()
    if country is None:
        raise InvalidInput({"country": [f"Unknown country code {country_code!r}."]})
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


@transaction.atomic
def workspace_bootstrap(
    *, name: str, country_code: str, email: str, now: datetime, tax_id: str = ""
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
    workspace_add_member(workspace=workspace, user=user, role=Membership.Role.OWNER)
    return workspace, api_token_issue(user=user, now=now)
