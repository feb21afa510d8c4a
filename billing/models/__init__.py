from billing.models.base import LoadedPlainly, TenantModel, money_field, quantity_field
from billing.models.certificates import Certificate
from billing.models.documents import FiscalDocument, Line, filed_once_constraint
from billing.models.events import Event
from billing.models.folios import FolioRange
from billing.models.idempotency import IdempotencyKey
from billing.models.numbering import NumberSequence
from billing.models.reference import Comuna, Country, Currency, DocumentType, State
from billing.models.tax_agency import SandboxSubmission
from billing.models.workspaces import ApiToken, JwtSession, Membership, Workspace

__all__ = [
    "ApiToken",
    "Certificate",
    "Comuna",
    "Country",
    "Currency",
    "DocumentType",
    "Event",
    "FiscalDocument",
    "FolioRange",
    "IdempotencyKey",
    "JwtSession",
    "Line",
    "LoadedPlainly",
    "Membership",
    "NumberSequence",
    "SandboxSubmission",
    "State",
    "TenantModel",
    "Workspace",
    "filed_once_constraint",
    "money_field",
    "quantity_field",
]
