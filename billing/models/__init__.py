from billing.models.base import TenantModel
from billing.models.events import Event
from billing.models.idempotency import IdempotencyKey
from billing.models.numbering import NumberSequence
from billing.models.reference import Country, Currency, DocumentType, State
from billing.models.tax_agency import SandboxSubmission
from billing.models.workspaces import ApiToken, Membership, Workspace

__all__ = [
    "ApiToken",
    "Country",
    "Currency",
    "DocumentType",
    "Event",
    "IdempotencyKey",
    "Membership",
    "NumberSequence",
    "SandboxSubmission",
    "State",
    "TenantModel",
    "Workspace",
]
