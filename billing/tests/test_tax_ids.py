"""Tax ids: one stored spelling per RUT, whoever stores it."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.forms.models import model_to_dict

from billing.admin import WorkspaceAdminForm
from billing.models import Workspace
from billing.tax_ids import InvalidTaxId, normalize_stored_ruts, normalize_tax_id
from billing.tests.factories import WorkspaceFactory


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("07.608.642-7", "7608642-7"),
        ("07608642-7", "7608642-7"),
        ("7.608.642-7", "7608642-7"),
        ("076086428-5", "76086428-5"),
        ("0076086428-5", "76086428-5"),  # more zeros than stdnum's length allows
        ("CL 76.086.428-5", "76086428-5"),
        ("10.000.013-k", "10000013-K"),
    ],
)
def test_a_rut_is_stored_without_its_leading_zeros(given, stored):
    assert normalize_tax_id("CL", given) == stored
    assert normalize_tax_id("CL", stored) == stored  # the stored form is valid input


@pytest.mark.parametrize("given", ["0-0", "000000000-0", "07.608.642-8", "123456789-0", "-"])
def test_what_is_not_a_rut_is_refused(given):
    with pytest.raises(InvalidTaxId):
        normalize_tax_id("CL", given)


@pytest.mark.django_db
def test_create_workspace_stores_its_rut_without_leading_zeros():
    out = io.StringIO()

    call_command(
        "create_workspace", "--name", "Ceros", "--country", "CL", "--email", "dueño@ceros.cl",
        "--tax-id", "07.608.642-7", "--json", stdout=out,
    )  # fmt: skip

    workspace = Workspace.objects.get(pk=json.loads(out.getvalue())["workspace"])
    assert workspace.tax_id == "7608642-7"


@pytest.mark.django_db
def test_the_workspace_admin_form_stores_a_normalized_rut():
    workspace = WorkspaceFactory(tax_id="76086428-5")
    owner = get_user_model().objects.create(username="owner@ceros.cl")
    data = {**model_to_dict(workspace), "members": [owner.pk], "tax_settings": "{}"}
    data["tax_id"] = "076.086.428-5"

    form = WorkspaceAdminForm(data=data, instance=workspace)
    wrong = WorkspaceAdminForm(data={**data, "tax_id": "07.608.642-8"}, instance=workspace)

    assert form.is_valid(), form.errors
    assert form.save().tax_id == "76086428-5"
    assert list(wrong.errors) == ["tax_id"]


@pytest.mark.django_db
def test_the_data_migration_drops_the_leading_zeros_of_stored_ruts():
    # Stored before the zeros were dropped; an invalid one and a foreign one stay as they are.
    zeros = WorkspaceFactory(tax_id="07608642-7")
    invalid = WorkspaceFactory(tax_id="07608642-8")
    foreign = WorkspaceFactory(country_id="AR", tax_id="0123")

    normalize_stored_ruts(Workspace.objects.all())

    stored = dict(Workspace.objects.values_list("id", "tax_id"))
    assert [stored[w.id] for w in (zeros, invalid, foreign)] == ["7608642-7", "07608642-8", "0123"]
