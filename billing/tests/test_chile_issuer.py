"""Chile's reference comunas and the issuer data documents print (razón social, giro,
acteco, casa matriz, the SII's office and resolution)."""

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict
from django.utils import timezone
from rest_framework.test import APIClient

from billing.admin import WorkspaceAdminForm
from billing.models import Comuna, Membership, State, Workspace
from billing.services.workspaces import api_token_issue
from billing.tax_ids import display_tax_id
from billing.tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db

ISSUER = {
    "legal_name": "Servicios Digitales Andes SpA",
    "activity_description": "Desarrollo de software",
    "activity_code": 620200,
    "address": "Av. Providencia 1234, of. 501",
    "comuna": "13123",
    "city": "Santiago",
    "sii_office": "S.I.I. - Providencia",
    "sii_resolution_number": 80,
    "sii_resolution_date": "2014-08-22",
    "email": "facturacion@andes.cl",
}


def test_every_comuna_of_chile_is_reference_data():
    assert Comuna.objects.count() == 346
    # Every Chilean region has its comunas; Santiago's has 52.
    regions = State.objects.filter(country_id="CL")
    assert all(region.comunas.exists() for region in regions)
    assert Comuna.objects.filter(region_id="CL-RM").count() == 52
    assert Comuna.objects.get(pk="13120").name == "Ñuñoa"


def test_comunas_are_listed_by_region_in_generals(tenant):
    listed = tenant.client.get("/generals/comunas/", {"region": "CL-AP"})
    one = tenant.client.get("/generals/comunas/16101/")

    assert listed.status_code == 200, listed.json()
    names = sorted(row["name"] for row in listed.json()["results"])
    assert names == ["Arica", "Camarones", "General Lagos", "Putre"]
    assert one.json() == {"code": "16101", "name": "Chillán", "region": "CL-NB"}


def test_an_owner_sets_the_issuer_data(tenant):
    response = tenant.client.patch(f"/workspaces/{tenant.workspace.id}/", ISSUER, format="json")

    assert response.status_code == 200, response.json()
    assert {name: response.json()[name] for name in ISSUER} == ISSUER
    stored = Workspace.objects.get(pk=tenant.workspace.id)
    assert stored.comuna is not None and stored.comuna.name == "Providencia"
    assert stored.sii_resolution_date == datetime.date(2014, 8, 22)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"activity_code": 6202}, "activity_code"),
        ({"comuna": "99999"}, "comuna"),
        ({"sii_resolution_number": 80}, "sii_resolution_date"),
        (
            {"sii_resolution_number": 10**12, "sii_resolution_date": "2026-01-01"},
            "sii_resolution_number",
        ),
        ({"activity_code": 10**12}, "activity_code"),
        ({"name": "Otro"}, "name"),
    ],
)
def test_bad_issuer_data_is_a_400_on_its_field(tenant, change, field):
    response = tenant.client.patch(f"/workspaces/{tenant.workspace.id}/", change, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()


def test_a_comuna_is_refused_for_a_workspace_outside_chile():
    mexican = make_tenant(country="MX")

    response = mexican.client.patch(
        f"/workspaces/{mexican.workspace.id}/", {"comuna": "13101"}, format="json"
    )

    assert response.status_code == 400
    assert "comuna" in response.json()


def test_a_member_who_is_not_an_owner_cannot_change_the_workspace(tenant):
    member = UserFactory()
    MembershipFactory(workspace=tenant.workspace, user=member, role=Membership.Role.MEMBER)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token_issue(user=member, now=timezone.now()).key}"
    )

    response = client.patch(f"/workspaces/{tenant.workspace.id}/", {"city": "Talca"}, format="json")

    assert response.status_code == 403, response.json()
    assert Workspace.objects.get(pk=tenant.workspace.id).city == ""


def test_create_workspace_takes_the_issuer_data():
    out = io.StringIO()

    call_command(
        "create_workspace", "--name", "Demo", "--country", "CL", "--email", "demo@example.com",
        "--tax-id", "76086428-5", "--legal-name", "Demo SpA", "--activity-description",
        "Desarrollo de software", "--activity-code", "620200", "--address", "Av. Italia 850",
        "--comuna", "Ñuñoa", "--city", "Santiago", "--sii-office", "S.I.I. - Ñuñoa",
        "--sii-resolution-number", "0", "--sii-resolution-date", "2026-01-01", "--json",
        stdout=out,
    )  # fmt: skip

    workspace = Workspace.objects.get(pk=json.loads(out.getvalue())["workspace"])
    assert (workspace.legal_name, workspace.activity_code, workspace.comuna_id) == (
        "Demo SpA",
        620200,
        "13120",
    )
    assert (workspace.sii_resolution_number, workspace.sii_resolution_date) == (
        0,
        datetime.date(2026, 1, 1),
    )


def test_create_workspace_takes_a_comuna_code_without_its_leading_zero():
    out = io.StringIO()

    call_command(
        "create_workspace", "--name", "Viña", "--country", "CL", "--email", "vina@example.com",
        "--comuna", "5101", "--json", stdout=out,
    )  # fmt: skip

    # 5101 is Valparaíso's 05101, as the API's body fields read it.
    workspace = Workspace.objects.get(pk=json.loads(out.getvalue())["workspace"])
    assert workspace.comuna_id == "05101"


@pytest.mark.parametrize(
    ("query", "codes"),
    [({"code": "5101"}, ["05101"]), ({"code__in": "5101,13101"}, ["05101", "13101"])],
)
def test_comunas_are_found_by_a_code_without_its_leading_zero(tenant, query, codes):
    response = tenant.client.get("/generals/comunas/", query)

    assert response.status_code == 200, response.json()
    assert sorted(row["code"] for row in response.json()["results"]) == codes


def test_create_workspace_refuses_an_unknown_comuna():
    with pytest.raises(CommandError, match="Unknown comuna"):
        call_command(
            "create_workspace", "--name", "X", "--country", "CL", "--email", "x@example.com",
            "--comuna", "Gotham", stdout=io.StringIO(),
        )  # fmt: skip


@pytest.mark.parametrize(
    ("country", "stored", "printed"),
    [
        ("CL", "76086428-5", "76.086.428-5"),
        ("CL", "7608642-7", "7.608.642-7"),
        ("CL", "not a rut", "not a rut"),
        ("MX", "GODE561231GR8", "GODE561231GR8"),
    ],
)
def test_documents_print_a_rut_with_dots(country, stored, printed):
    assert display_tax_id(country, stored) == printed


def test_the_workspace_admin_checks_the_issuer_data():
    workspace = WorkspaceFactory(tax_id="76086428-5")
    owner = UserFactory()
    data = {**model_to_dict(workspace), "members": [owner.pk], "tax_settings": "{}"}

    bad = WorkspaceAdminForm(data={**data, "activity_code": "6202"}, instance=workspace)
    good = WorkspaceAdminForm(
        data={**data, "activity_code": "620200", "comuna": "13123"}, instance=workspace
    )

    assert not bad.is_valid() and "activity_code" in bad.errors
    assert good.is_valid(), good.errors


def test_a_retrieved_workspace_put_back_is_accepted_and_put_is_partial(tenant):
    retrieved = tenant.client.get(f"/workspaces/{tenant.workspace.id}/").json()

    unchanged = tenant.client.put(f"/workspaces/{tenant.workspace.id}/", retrieved, format="json")
    renamed = tenant.client.put(
        f"/workspaces/{tenant.workspace.id}/", {**retrieved, "city": "Talca"}, format="json"
    )
    partial = tenant.client.put(
        f"/workspaces/{tenant.workspace.id}/", {"sii_office": "S.I.I. - Talca"}, format="json"
    )
    read_only = tenant.client.put(
        f"/workspaces/{tenant.workspace.id}/", {**retrieved, "timezone": "UTC"}, format="json"
    )

    assert unchanged.status_code == 200, unchanged.json()
    assert unchanged.json() == retrieved
    assert renamed.status_code == 200, renamed.json()
    assert partial.status_code == 200, partial.json()
    assert (partial.json()["city"], partial.json()["sii_office"]) == ("Talca", "S.I.I. - Talca")
    assert read_only.status_code == 400, read_only.json()
    assert list(read_only.json()) == ["timezone"]
    assert Workspace.objects.get(pk=tenant.workspace.id).timezone == tenant.workspace.timezone
