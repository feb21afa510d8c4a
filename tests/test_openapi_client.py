"""The OpenAPI document is good enough to generate a working typed client.

The document is fetched from a live server, a client is generated from it with
openapi-python-client, imported, and used against the same server as a tenant: create,
list, filter, retrieve and update customers, and read typed errors.
"""

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import make_tenant

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PACKAGE = "billing_api_client"


def _generator() -> list[str]:
    """openapi-python-client from this interpreter's environment (the project's venv)."""
    beside = Path(sys.executable).with_name("openapi-python-client")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("openapi-python-client")
    if found is None:
        pytest.fail("openapi-python-client is not installed (it is a dev dependency)")
    return [found]


@pytest.fixture
def generated(live_server: Any, tmp_path: Path) -> Iterator[ModuleType]:
    """The client package generated from the live server's /openapi.json, importable."""
    document = httpx.get(f"{live_server.url}/openapi.json", timeout=30)
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("application/")
    (tmp_path / "schema.json").write_bytes(document.content)
    # Document downloads (PDF, XML) come back as bytes.
    (tmp_path / "config.yaml").write_text(
        "content_type_overrides:\n"
        "  application/pdf: application/octet-stream\n"
        "  application/xml: application/octet-stream\n"
    )
    # The generator formats its output with ruff when ruff is on the PATH, and warns if not.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [
            *_generator(),
            "generate",
            "--path",
            str(tmp_path / "schema.json"),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(tmp_path / "config.yaml"),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_generated_client_manages_customers(generated: ModuleType, live_server: Any) -> None:
    from billing_api_client import AuthenticatedClient  # type: ignore[import-not-found]
    from billing_api_client.api.customers import (  # type: ignore[import-not-found]
        customers_create,
        customers_list,
        customers_partial_update,
        customers_retrieve,
    )
    from billing_api_client.models import (  # type: ignore[import-not-found]
        Customer,
        CustomerRequest,
        CustomersCreateValidationError,
        CustomersPartialUpdateValidationError,
        CustomerStatusEnum,
        Error,
        Metadata,
        PaginatedCustomerList,
        PatchedCustomerRequest,
    )

    tenant = make_tenant()
    workspace = tenant.workspace.id
    client = AuthenticatedClient(
        base_url=live_server.url,
        token=tenant.token,
        prefix="Token",
        headers={"x-simple-workspace": workspace},
        raise_on_unexpected_status=True,
    )
    tenant_args = {"client": client, "x_simple_workspace": workspace}

    with client:
        # Create: the body is a typed request; the answer a typed Customer.
        response = customers_create.sync_detailed(
            **tenant_args,
            body=CustomerRequest(
                name="ACME SpA",
                country="CL",
                tax_id="76.086.428-5",
                reference="erp-1",
                metadata=Metadata.from_dict({"segment": "smb"}),
            ),
        )
        assert response.status_code == 201, response.content
        acme = response.parsed
        assert isinstance(acme, Customer)
        assert acme.id.startswith("cus_")
        assert acme.tax_id == "76086428-5"  # normalized by the server
        assert acme.currency == "CLP"  # from the country
        assert acme.status == CustomerStatusEnum.ACTIVE
        assert acme.metadata.to_dict() == {"segment": "smb"}
        assert isinstance(acme.created, datetime)
        assert acme.test_mode is False
        assert acme.contacts == []

        other = customers_create.sync(
            **tenant_args,
            body=CustomerRequest(name="Globex Corporation", country="US", email="ap@globex.com"),
        )
        assert isinstance(other, Customer)
        assert other.currency == "USD"

        # List: newest first, in the pagination envelope.
        page = customers_list.sync(**tenant_args)
        assert isinstance(page, PaginatedCustomerList)
        assert page.count == 2
        assert [c.id for c in page.results] == [other.id, acme.id]
        assert all(isinstance(c, Customer) for c in page.results)

        # Filters.
        by_reference = customers_list.sync(**tenant_args, reference="erp-1")
        assert [c.id for c in by_reference.results] == [acme.id]
        by_name = customers_list.sync(**tenant_args, name="globex")
        assert [c.id for c in by_name.results] == [other.id]
        by_countries = customers_list.sync(**tenant_args, country_in=["US", "AR"])
        assert [c.id for c in by_countries.results] == [other.id]
        searched = customers_list.sync(**tenant_args, search="76086428")
        assert [c.id for c in searched.results] == [acme.id]
        assert customers_list.sync(**tenant_args, page_size=1).next_ is not None
        # Test-mode data is separate.
        assert customers_list.sync(**tenant_args, x_piriod_test_mode=True).count == 0

        # Retrieve.
        fetched = customers_retrieve.sync(acme.id, **tenant_args)
        assert isinstance(fetched, Customer)
        assert fetched.to_dict() == acme.to_dict()

        # Partial update: only what is sent changes.
        updated = customers_partial_update.sync(
            acme.id,
            **tenant_args,
            body=PatchedCustomerRequest(
                name="ACME Chile SpA", metadata=Metadata.from_dict({"segment": "enterprise"})
            ),
        )
        assert isinstance(updated, Customer)
        assert updated.name == "ACME Chile SpA"
        assert updated.metadata.to_dict() == {"segment": "enterprise"}
        assert updated.reference == "erp-1"
        assert updated.tax_id == acme.tax_id
        assert updated.updated >= acme.updated
        assert customers_retrieve.sync(acme.id, **tenant_args).name == "ACME Chile SpA"

        # Errors are typed too.
        missing = customers_retrieve.sync_detailed("cus_missing", **tenant_args)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, Error)
        assert missing.parsed.code == "not_found"
        invalid = customers_partial_update.sync_detailed(
            acme.id, **tenant_args, body=PatchedCustomerRequest(email="not-an-email")
        )
        assert invalid.status_code == 400
        # Each operation's 400 declares its fields: a client reads them as attributes.
        assert isinstance(invalid.parsed, CustomersPartialUpdateValidationError)
        assert invalid.parsed.email
        duplicate = customers_create.sync_detailed(
            **tenant_args, body=CustomerRequest(name="Dup", country="US", reference="erp-1")
        )
        assert duplicate.status_code == 400
        assert isinstance(duplicate.parsed, CustomersCreateValidationError)
        assert duplicate.parsed.reference

        # Without credentials: a typed 401.
        anonymous = generated.Client(base_url=live_server.url)
        with anonymous:
            refused = customers_list.sync_detailed(client=anonymous, x_simple_workspace=workspace)
        assert refused.status_code == 401
        assert isinstance(refused.parsed, Error)
        assert refused.parsed.code == "not_authenticated"
