"""`manage.py import_customers`: each CSV row validated as POST /customers/ validates
it and created by the same service; refused rows reported by line, the rest created."""

import io

import pytest
from django.core.management import CommandError, call_command

from billing.models import Event
from customers.models import Customer
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db

CSV = """name,country,tax_id,email,reference,comuna,address,metadata
Comercial Andes SpA,CL,76.086.428-5,billing@andes.cl,crm-1,13123,Providencia 1,"{""crm"": ""1""}"
Sin Dígito Ltda,CL,76086428-4,a@b.cl,crm-2,,,
Viña Sur Ltda,CL,77123456-9,pagos@vinasur.cl,crm-3,,,
,CL,77123456-9,,crm-4,,,
Acme Inc,US,,ap@acme.example,crm-5,,,not json
"""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_valid_rows_are_created_and_each_refused_row_is_reported(tmp_path) -> None:
    workspace = make_tenant().workspace
    path = tmp_path / "customers.csv"
    path.write_text(CSV, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="3 row"):
        call_command(
            "import_customers", str(path), "--workspace", workspace.id, stdout=out, stderr=err
        )

    assert "Created 2 customer(s) of 5 row(s); 3 refused." in out.getvalue()
    assert err.getvalue().splitlines() == [
        "line 3: tax_id: The check digit does not match.",
        "line 5: name: This field is required.",
        "line 6: metadata: Not a JSON object.",
    ]
    andes = Customer.objects.get(workspace=workspace, reference="crm-1")
    # Stored as the API stores it: the RUT normalised, the currency from the country,
    # the comuna setting the region, and a customer.created event.
    assert (andes.tax_id, andes.currency_id, andes.state_id) == ("76086428-5", "CLP", "CL-RM")
    assert andes.metadata == {"crm": "1"}
    assert andes.test_mode is False
    assert Event.objects.filter(type="customer.created", object_id=andes.id).count() == 1


def test_a_second_import_refuses_the_references_it_created(tmp_path) -> None:
    workspace = make_tenant().workspace
    path = tmp_path / "customers.csv"
    path.write_text("name,country,tax_id,reference\nViña Sur Ltda,CL,77123456-9,crm-3\n")
    call_command(
        "import_customers", str(path), "--workspace", workspace.id, "--test-mode",
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command(
            "import_customers", str(path), "--workspace", workspace.id, "--test-mode",
            stdout=io.StringIO(), stderr=err,
        )  # fmt: skip

    assert err.getvalue() == "line 2: reference: A customer with this reference exists.\n"
    assert Customer.objects.filter(workspace=workspace, test_mode=True).count() == 1


def test_a_terminal_gets_a_bar_of_rows(tmp_path) -> None:
    workspace = make_tenant().workspace
    path = tmp_path / "customers.csv"
    path.write_text("name,country,tax_id\nViña Sur Ltda,CL,77123456-9\nAcme Inc,US,\n")
    terminal = Terminal()

    call_command(
        "import_customers", str(path), "--workspace", workspace.id,
        stdout=io.StringIO(), stderr=terminal,
    )  # fmt: skip

    assert "2/2 rows" in terminal.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Cannot read"),
        ("name,country\nA,CL,extra\n", "1 row"),
    ],
)
def test_an_unreadable_file_or_a_ragged_row_is_an_error(tmp_path, content, message) -> None:
    workspace = make_tenant().workspace
    path = tmp_path / "customers.csv"
    if content is not None:
        path.write_text(content)

    with pytest.raises(CommandError, match=message):
        call_command(
            "import_customers", str(path), "--workspace", workspace.id,
            stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip
