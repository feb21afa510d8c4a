"""Which backend files a workspace's documents: by the workspace's country for now.

`settings.TAX_AGENCY_BACKENDS` ({"CL": "dotted.path.Backend", "*": ...}) overrides the
defaults below per country; "*" is the fallback for countries not listed.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from billing.models import Workspace
from billing.tax_agency.base import TaxAgency

SANDBOX = "billing.tax_agency.sandbox.SandboxAgency"
# Chile and every other country use the sandbox until a real backend is written.
DEFAULT_BACKENDS = {"CL": SANDBOX, "*": SANDBOX}


def agency_for_country(country: str) -> TaxAgency:
    backends = {**DEFAULT_BACKENDS, **settings.TAX_AGENCY_BACKENDS}
    backend_class = import_string(backends.get(country) or backends["*"])
    return backend_class()


def agency_for(*, workspace: Workspace) -> TaxAgency:
    return agency_for_country(workspace.country_id)


def uses_sandbox(*, workspace: Workspace) -> bool:
    """Whether the workspace files with the sandbox agency, which makes its own
    certificates and accepts them."""
    backends = {**DEFAULT_BACKENDS, **settings.TAX_AGENCY_BACKENDS}
    return (backends.get(workspace.country_id) or backends["*"]) == SANDBOX
