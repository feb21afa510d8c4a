"""The workspace admin: the issuer fields are checked as the API checks them, and what the
API never changes after creation (country, currency, tax id: its documents' currency,
taxes and the SII's CAFs hang on them; the timezone its dates are computed in) is
read-only."""

import pytest
from django.urls import reverse

from billing.models import Workspace
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


def test_the_timezone_does_not_change_in_the_admin(admin_client):
    # Billing dates, periods and the dates on issued documents are computed in it: a new
    # zone would move them.
    workspace = WorkspaceFactory(timezone="America/Santiago")
    url = reverse("admin:billing_workspace_change", args=[workspace.pk])
    page = admin_client.get(url)

    response = admin_client.post(url, rendered_form_data(page, timezone="Asia/Tokyo"))

    assert response.status_code == 302, response.content.decode()[:2000]
    workspace.refresh_from_db()
    assert workspace.timezone == "America/Santiago"


def test_the_timezone_is_chosen_when_the_workspace_is_created(admin_client):
    url = reverse("admin:billing_workspace_add")
    page = admin_client.get(url)

    response = admin_client.post(
        url,
        rendered_form_data(
            page, name="New", country="US", currency="USD", timezone="America/New_York"
        ),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Workspace.objects.get(name="New").timezone == "America/New_York"


@pytest.mark.parametrize(
    ("field", "value"),
    [("timezone", "Mars/Olympus_Mons"), ("currency", "XYZ"), ("currency", "usd")],
)
def test_a_new_workspace_s_timezone_and_currency_are_known_ones(admin_client, field, value):
    # Every billing date is computed in the timezone and every amount formatted in the
    # currency: an unknown one would fail each of them.
    url = reverse("admin:billing_workspace_add")
    page = admin_client.get(url)
    data = rendered_form_data(
        page, name="New", country="US", currency="USD", timezone="America/New_York"
    )

    response = admin_client.post(url, data | {field: value})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    assert not Workspace.objects.filter(name="New").exists()


def test_the_service_refuses_an_unknown_timezone():
    from billing.errors import InvalidInput
    from billing.services.workspaces import workspace_create

    with pytest.raises(InvalidInput) as refused:
        workspace_create(name="New", country_code="CL", timezone="America/Santiagoo")

    assert "timezone" in refused.value.errors
    assert not Workspace.objects.filter(name="New").exists()
