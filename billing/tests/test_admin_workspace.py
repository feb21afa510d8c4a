"""The workspace admin: the issuer fields are checked as the API checks them, and what the
API never changes after creation (country, currency, tax id: its documents' currency,
taxes and the SII's CAFs hang on them) is read-only."""

import pytest
from django.urls import reverse

from billing.tests.admin_helpers import rendered_form_data
from billing.tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_country_currency_and_tax_id_do_not_change_in_the_admin(admin_client):
    workspace = WorkspaceFactory(tax_id="76086428-5")
    url = reverse("admin:billing_workspace_change", args=[workspace.pk])
    page = admin_client.get(url)

    response = admin_client.post(
        url,
        rendered_form_data(
            page, name="Renamed", country="US", currency="USD", tax_id="77.777.777-7"
        ),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    workspace.refresh_from_db()
    assert workspace.name == "Renamed"
    assert (workspace.country_id, workspace.currency, workspace.tax_id) == (
        "CL", "CLP", "76086428-5",
    )  # fmt: skip
