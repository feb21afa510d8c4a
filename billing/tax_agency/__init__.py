"""The tax agency (biller): pluggable backends chosen per workspace, and a sandbox agency.

See base.py for the interface, registry.py for the choice of backend and sandbox.py for
the agency that ships with the server.
"""

from billing.tax_agency.base import (
    PollResult,
    PollStatus,
    TaxAgency,
    TaxAgencyError,
    TaxDocument,
    TaxDocumentLine,
    TaxDocumentReference,
    TaxDocumentTotals,
)
from billing.tax_agency.registry import agency_for, agency_for_country

__all__ = [
    "PollResult",
    "PollStatus",
    "TaxAgency",
    "TaxAgencyError",
    "TaxDocument",
    "TaxDocumentLine",
    "TaxDocumentReference",
    "TaxDocumentTotals",
    "agency_for",
    "agency_for_country",
]
